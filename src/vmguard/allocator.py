"""glibc's malloc set up for reading guest files one after another (the CLI's process).

A scan reads thousands of files whole, each into a new buffer that is dropped a moment
later. By default glibc hands every buffer of 128 KiB or more back to the kernel when it is
freed (an ``munmap``, or trimming the top of the heap), and the next one comes back as
fresh pages that the kernel zeroes and maps one page fault at a time: each walk + read of
the benchmark's 500 MB btrfs guest took 26,000 page faults (after the first walk of the
process). ``keep_freed_memory`` keeps up to ``KEEP_BYTES`` of freed memory for reuse and
serves buffers under ``HEAP_BELOW`` from the heap: 300 page faults for the same walk.
Larger buffers are still mapped and unmapped on their own, so one huge file does not stay
resident.

Process-wide, hence called by the entry point (``vmguard.cli.main.run``), never on import.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""``mallopt`` parameter numbers (glibc's malloc.h)."""
KEEP_BYTES = 256 * 1024 * 1024
"""Freed memory at the top of the heap kept before glibc gives it back."""
HEAP_BELOW = (64 * 1024 * 1024, 32 * 1024 * 1024)
"""Buffers smaller than this come from the heap, larger ones are mapped alone: the first
size glibc accepts (mallopt(3) documents 32 MiB as the most on 64-bit systems; glibc 2.36
takes 64 MiB)."""


def is_glibc() -> bool:
    """Whether this process runs on glibc (whose malloc these settings are for)."""
    try:
        return bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError):  # no such name here: not glibc
        return False


def keep_freed_memory() -> bool:
    """Apply both settings, each on its own; False where the C library is not glibc or
    refuses one of them."""
    if not is_glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no such symbol
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    heap = any(mallopt(M_MMAP_THRESHOLD, size) for size in HEAP_BELOW)
    kept = bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    return heap and kept
