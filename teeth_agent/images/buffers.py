"""The pipeline's write buffers: a bounded pool of page-aligned buffers, made when first needed.

Buffers come from mmap, so they are page-aligned as O_DIRECT wants and a handle can write them without
another copy. Fresh anonymous pages are faulted in one by one as they are first written, at a few
microseconds each, while the decode thread copies into them holding the GIL: on a small image, or a fleet
of simulated agents, that was most of the cost of a buffer. So a buffer is only made when needed (a small
image may need one), and a buffer that is likely to be filled (`large`) is faulted in by the kernel in
one madvise(MADV_POPULATE_WRITE) call, made through ctypes so that it runs without the GIL (mmap's own
MAP_POPULATE holds it). A kernel without that advice (< 5.14) refuses it and pages fault in as written.
"""

from __future__ import annotations

import ctypes
import mmap
import queue
import sys
from collections.abc import Callable

BUFFER_BYTES = 4 << 20
_MADV_POPULATE_WRITE = 23  # linux/mman.h


def _libc_madvise() -> Callable[[int, int, int], int] | None:
    if sys.platform != "linux":
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


_MADVISE = _libc_madvise()


def prefault(buf: mmap.mmap) -> bool:
    """Fault every page of `buf` in now, outside the GIL; False when the kernel would not."""
    if _MADVISE is None:
        return False
    holder = (ctypes.c_char * len(buf)).from_buffer(buf)  # exports buf until released below
    try:
        return _MADVISE(ctypes.addressof(holder), len(buf), _MADV_POPULATE_WRITE) == 0
    finally:
        del holder


class BufferPool:
    """At most `count` buffers of `size` bytes; the count bounds the memory a stream holds in flight."""

    def __init__(self, count: int, size: int = BUFFER_BYTES) -> None:
        if count < 1:
            raise ValueError(f"a buffer pool needs at least one buffer, got {count}")
        self._free: queue.Queue[mmap.mmap | None] = queue.Queue()
        self._count = count
        self._made = 0
        self.size = size

    def get(self, large: bool = False) -> mmap.mmap | None:
        """A free buffer, waiting for one once all are made; None when the pipeline is torn down."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        if self._made < self._count:  # only the decode thread gets: no race on _made
            self._made += 1
            buf = mmap.mmap(-1, self.size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if large:
                prefault(buf)
            return buf
        return self._free.get()

    def put(self, buf: mmap.mmap | None) -> None:
        """Give a buffer back (from the writer), or None to wake and stop the decode thread."""
        self._free.put(buf)

    @property
    def made(self) -> int:
        return self._made
