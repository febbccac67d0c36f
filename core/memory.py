"""Keeping freed memory in the process while a loop reallocates the same large buffers (glibc only).

glibc's ``malloc`` serves blocks above its mmap threshold (at most 32 MiB) with
``mmap`` and hands them back with ``munmap`` on ``free``. A training loop that
allocates the same activations every step (120 000 environments × 100 hidden
units of float32 is 48 MiB) then page-faults through fresh zeroed pages each
time: measured here, half of a CPU training run's time was the kernel's
(4.2 million minor faults in 30 epochs; ``benchmarks/nn_training.py``).
:func:`retained_heap` raises the mmap and trim thresholds for the duration, so
those blocks come from the heap and stay there between steps, then gives the
memory back (``malloc_trim``) and sets the thresholds glibc would have grown to.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
from collections.abc import Iterator

#: ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Restored afterwards: where glibc's own dynamic adjustment ends up (its 64-bit maximum mmap threshold,
#: and twice that for trimming), since setting a threshold switches that adjustment off for good.
RESTORED_MMAP_THRESHOLD = 32 * 1024 * 1024
RESTORED_TRIM_THRESHOLD = 2 * RESTORED_MMAP_THRESHOLD
#: While held: blocks up to 1 GiB come from the heap; nothing is trimmed below 2 GiB of free heap.
HELD_MMAP_THRESHOLD = 1 << 30
HELD_TRIM_THRESHOLD = (1 << 31) - 1


def _glibc():
    """The C library if it is glibc (has ``mallopt`` and ``malloc_trim``), else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    return libc


@contextlib.contextmanager
def retained_heap() -> Iterator[bool]:
    """Keep freed large blocks in the heap inside the block; yields whether that could be arranged."""
    libc = _glibc()
    if libc is None:
        yield False
        return
    arranged = bool(libc.mallopt(M_MMAP_THRESHOLD, HELD_MMAP_THRESHOLD)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, HELD_TRIM_THRESHOLD))
    try:
        yield arranged
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, RESTORED_MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, RESTORED_TRIM_THRESHOLD)
        libc.malloc_trim(0)
