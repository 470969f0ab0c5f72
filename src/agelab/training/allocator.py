"""Keep freed memory inside the training process instead of handing it back to the kernel.

glibc's ``malloc`` serves every block over ``M_MMAP_THRESHOLD`` (at most 32 MB) with a fresh ``mmap`` and
returns it with ``munmap`` when it is freed. A training step allocates and frees blocks of that size by the
dozen (AlexNet's fc6 gradient is 151 MB; each activation of a batch several MB), so every step maps new
pages and the kernel zero-fills each one on its first touch: on this project's 2-core CPU that cost up to
75 % of a training loop's time in the kernel (≈ 150 k page faults/s, docs/benchmarks.md). Telling
``malloc`` never to ``mmap`` (``M_MMAP_MAX = 0``) and never to trim its heap below 2 GB of free top
(``M_TRIM_THRESHOLD``) makes a freed block reusable by the next step: the pages stay mapped and the faults
stop after the first step.

This is what ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=…`` in the environment does, applied from inside
the process (``mallopt``), so ``kedro run`` needs no wrapper. The cost: the process keeps its peak heap
until it exits, which is what a training process holds anyway. Other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys

logger = logging.getLogger(__name__)

#: glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: keep up to this much free memory at the top of the heap (mallopt takes an int)
TRIM_THRESHOLD_BYTES = 2**31 - 1

_applied = False


def retain_freed_memory() -> bool:
    """Switch glibc's ``malloc`` to reuse freed blocks (see the module docstring); once per process.
    Returns whether the setting is in force (``False`` where the C library is not glibc)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - present in glibc only (musl also has mallopt, as a no-op)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(M_MMAP_MAX, 0) != 1 or mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) != 1:
        logger.debug("mallopt refused the training allocator settings; glibc's defaults stay")
        return False
    _applied = True
    return True
