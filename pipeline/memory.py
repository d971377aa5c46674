"""Keep the writing process's memory close to what it holds (glibc's `mallopt`).

The process that writes a batch receives each document's output from the workers (about
half a megabyte, unpickled into fresh buffers), writes it and frees it, and keeps only a small
summary per document. glibc serves blocks of 128 KiB and more with `mmap`, and gives them back
to the system when freed; but after the first such block is freed it raises that threshold
(up to 32 MiB), so later buffers come from the heap, where the small objects kept between
them pin the freed pages: the resident size then grows with what went through the process,
not with what it keeps. Fixing the threshold keeps the large buffers in `mmap`. Elsewhere than
glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's `mallopt` parameter number of M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3
# glibc's own starting threshold: blocks this large or larger are mapped, and unmapped when freed.
MMAP_THRESHOLD_BYTES = 128 * 1024


def keep_large_blocks_mapped(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Serve blocks of `threshold` bytes or more with `mmap` from now on, in this process;
    False when the C library cannot (not glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
