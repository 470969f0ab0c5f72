"""Parallel map over worker processes, or over a Dask cluster, with a progress bar (items/s and ETA).

Local worker processes are the default. Given a scheduler address (``tcp://host:8786``, a
``dask.distributed`` cluster you started with ``dask scheduler`` / ``dask worker``), the same map runs on the
cluster's workers, in chunks, with a bounded number of chunks in flight, and yields results in input order
exactly as the local path does; ``local`` starts a :class:`~dask.distributed.LocalCluster` on this machine.
The workers must see the same files at the same paths (a shared file system) and have agelab installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
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
    scheduler: str | None = None,
) -> Iterator[R]:
    """Yield ``function(item)`` in input order, in ``workers`` processes (1 = in this process), or on the
    Dask cluster at ``scheduler`` (``function`` and the items must be picklable; see the module docstring).

    The bar reports items per second and the time left; it is written to stderr and disabled when
    ``show_progress`` is false (e.g. in tests).
    """
    count = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    bar = progress_bar(total=count, desc=description, unit=unit, disable=not show_progress, smoothing=0.1)
    try:
        if scheduler:
            for result in dask_map(
                function,
                items,
                scheduler,
                chunksize=chunksize,
                workers=workers,
                initializer=initializer,
                initargs=initargs,
            ):
                yield result
                bar.update()
            return
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


def _apply_chunk(function: Callable[[T], R], chunk: list[T]) -> list[R]:
    return [function(item) for item in chunk]


def _initialise_dask_worker(initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    single_threaded_worker(initializer, *initargs)


def dask_map(
    function: Callable[[T], R],
    items: Iterable[T],
    scheduler: str,
    *,
    chunksize: int = 8,
    workers: int = 1,
    in_flight_per_thread: int = 4,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
) -> Iterator[R]:
    """``function`` over ``items`` on a Dask cluster, in input order, ``chunksize`` items per task and at
    most ``in_flight_per_thread`` tasks per worker thread submitted ahead (memory stays bounded however many
    items there are). ``scheduler``: an address, or ``local`` for a LocalCluster of ``workers``
    single-threaded processes. A failing item raises its error here, as the local path does."""
    from collections import deque

    from dask.distributed import Client, LocalCluster

    cluster = (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        if scheduler == "local"
        else None
    )
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            client.run(_initialise_dask_worker, initializer, initargs)
            threads = max(1, sum(client.nthreads().values()))
            pending: deque = deque()
            iterator = iter(items)
            while True:
                while len(pending) < threads * in_flight_per_thread:
                    chunk = list(islice(iterator, chunksize))
                    if not chunk:
                        break
                    pending.append(client.submit(_apply_chunk, function, chunk, pure=False))
                if not pending:
                    return
                yield from pending.popleft().result()
    finally:
        if cluster is not None:
            cluster.close()
