"""Atomic file writes: an interrupted run never leaves a half-written artefact behind.

Everything is written to a temporary file in the destination folder and moved into place with
:func:`os.replace`, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO


class OutputWriteError(OSError):
    """An output could not be written (read-only or full file system, a file where a folder should be, …);
    the message names the path. Nothing half-written is left behind."""


def _cannot_write(target: Path, exc: OSError) -> OutputWriteError:
    error = OutputWriteError(exc.errno, f"cannot write {target}: {exc.strerror or exc}")
    error.filename = str(target)
    return error


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[BinaryIO]:
    """Open a temporary sibling of ``path`` for writing; replace ``path`` only on success. A failure of the
    file system is an :class:`OutputWriteError` naming ``path``."""
    if "w" not in mode:
        raise ValueError("atomic_open is for writing")
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(target, exc) from exc
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle  # type: ignore[misc]
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputWriteError):
            raise _cannot_write(target, exc) from exc
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
