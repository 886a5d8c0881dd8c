"""Process tuning every command applies once, at start."""

from __future__ import annotations

import ctypes
import gc
import os

# CPython runs a collection every 700 allocations by default; a staff page or a poll allocates tens of
# thousands of short-lived ORM objects, and each older-generation pass walks every live one, so pages over all
# applications grew faster than the applications did (the ranking at 1,000: 0.91 s, 0.51 s with these).
GC_THRESHOLDS = (50_000, 20, 20)
# glibc's malloc serves a block this large or larger from its own mapping, returned to the system when freed.
# By default the threshold moves up to the largest block freed so far (up to 32 MiB), so after the first
# 9.9 MB email, the next one's copies (raw bytes, decoded annexes, the pickles to the parse workers) come from
# the heap and its arenas, one per thread, and stay counted in the worker's RSS: measured at 1,000 emails,
# 207 MB peak against 170 MB with the threshold fixed here.
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h


def tune_process() -> None:
    """What every command applies once, at start: the garbage collector and the memory allocator."""
    tune_garbage_collector()
    tune_memory_allocator()


def tune_memory_allocator() -> bool:
    """Fix glibc malloc's mmap threshold at ``MMAP_THRESHOLD``, so large blocks go back to the system when
    freed; True when set (False on another C library, where nothing is changed)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError):  # not glibc: no such name, or no such function
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def tune_garbage_collector() -> None:
    """What start-up loaded (modules, settings, templates) stays for the process's life: frozen out of every
    collection; then collect less often (reference counting still frees almost everything at once). Once per
    process: a second call (another command run in the same process, as tests do) changes nothing."""
    if gc.get_threshold() == GC_THRESHOLDS:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
