"""Parallel map over worker processes with a progress bar (items/s and ETA)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")


def resolve_workers(workers: int | str | None) -> int:
    """``auto``/0/None -> the number of usable cores; otherwise the integer given (at least 1)."""
    if workers in (None, 0, "auto"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not on Linux
            return max(1, os.cpu_count() or 1)
    return max(1, int(workers))


def progress_bar(iterable: Any = None, **kwargs: Any) -> tqdm:
    """tqdm with the project's defaults: redraws on a terminal, one line every 10 s in a log file."""
    kwargs.setdefault("mininterval", 0.1 if sys.stderr.isatty() else 10.0)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


def single_threaded_worker(initializer: Callable[..., Any] | None = None, *initargs: Any) -> None:
    """Worker-process initializer: one BLAS/torch thread per process (the processes are the
    parallelism; more threads would oversubscribe the cores), then the caller's initializer."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    if initializer is not None:
        initializer(*initargs)


def progress_map(
    function: Callable[[T], R],
    items: Sequence[T] | Iterable[T],
    *,
    workers: int = 1,
    description: str = "",
    unit: str = "img",
    total: int | None = None,
    chunksize: int = 8,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    show_progress: bool = True,
) -> Iterator[R]:
    """Yield ``function(item)`` in input order, in ``workers`` processes (1 = in this process).

    The bar reports items per second and the time left; it is written to stderr and disabled when
    ``show_progress`` is false (e.g. in tests).
    """
    count = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    bar = progress_bar(total=count, desc=description, unit=unit, disable=not show_progress, smoothing=0.1)
    try:
        if workers <= 1:
            if initializer is not None:
                initializer(*initargs)
            for item in items:
                yield function(item)
                bar.update()
            return
        with ProcessPoolExecutor(
            max_workers=workers, initializer=single_threaded_worker, initargs=(initializer, *initargs)
        ) as pool:
            for result in pool.map(function, items, chunksize=chunksize):
                yield result
                bar.update()
    finally:
        bar.close()
