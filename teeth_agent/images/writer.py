"""Aligned, large writes to a BlockHandle from a small pool of reusable page-aligned buffers.

The decode thread fills buffers (`Assembler`), the event loop writes them (`write_buffers`); the pool's size
is the bound on memory in flight, and waiting for a free buffer is the back-pressure that slows the
decoder — and through it the download — to the disk's pace (`buffers`: page-aligned, written without
another copy).
"""

from __future__ import annotations

import asyncio
import mmap
from collections.abc import Callable
from dataclasses import dataclass, field

from teeth_agent.backend.api import BlockHandle
from teeth_agent.images.buffers import BufferPool
from teeth_agent.images.decompress import Reader
from teeth_agent.images.errors import ImageTooLarge
from teeth_agent.images.readback import ReadBack

HEAD_BYTES = 1 << 20  # what "not bootable" zeroes, and what a bootable write holds back until verified


class Aborted(Exception):
    """The pipeline is being torn down; the decode thread stops where it is."""


@dataclass(frozen=True)
class Filled:
    offset: int  # relative to the target's base
    buf: mmap.mmap
    length: int  # meaningful bytes; the write is rounded up to the alignment with zeroes


class Assembler:
    """Runs in the decode thread: packs arbitrary pieces into full buffers and posts them."""

    def __init__(
        self,
        pool: BufferPool,
        post: Callable[[Filled], object],
        capacity: int,
        declared: int | None = None,
    ) -> None:
        self._pool = pool
        self._post = post
        self._capacity = capacity
        # The image's own declared size: a stream that decodes past it is stopped there, not at the end of
        # the disk (a compressed bomb of zeroes would otherwise cost a whole disk of writes to find out).
        self._declared = declared
        self._buf: mmap.mmap | None = None
        self._fill = 0
        self._offset = 0
        self.total = 0

    def push(self, data: bytes | memoryview) -> None:
        self._account(len(data))
        view = memoryview(data)
        while view:
            buf = self._current()
            take = min(len(buf) - self._fill, len(view))
            buf[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == len(buf):
                self._flush()

    def fill_from(self, reader: Reader) -> None:
        """Decode straight into the pool's buffers until the reader ends."""
        while True:
            buf = self._current()
            count = reader.readinto(memoryview(buf)[self._fill :])
            if not count:
                return
            self._account(count)
            self._fill += count
            if self._fill == len(buf):
                self._flush()

    def _account(self, count: int) -> None:
        if self._declared is not None and self.total + count > self._declared:
            raise ImageTooLarge(f"image decodes to more than its declared size of {self._declared} bytes",
                                details={"declared_size": self._declared})
        if self.total + count > self._capacity:
            raise ImageTooLarge(f"image is larger than the target ({self._capacity} bytes)",
                                details={"capacity": self._capacity})
        self.total += count

    def finish(self) -> None:
        if self._buf is not None and self._fill:
            self._flush()

    def _current(self) -> mmap.mmap:
        if self._buf is None:
            buf = self._pool.get(large=self.total >= HEAD_BYTES)
            if buf is None:
                raise Aborted()
            self._buf = buf
        return self._buf

    def _flush(self) -> None:
        assert self._buf is not None
        self._post(Filled(self._offset, self._buf, self._fill))
        self._offset += self._fill
        self._buf, self._fill = None, 0


@dataclass
class HeadHold:
    """Keeps the first MiB of a bootable write in memory until the image is verified."""

    data: bytearray = field(default_factory=bytearray)

    def take(self, offset: int, view: memoryview) -> tuple[int, memoryview]:
        """Keep what falls below HEAD_BYTES; return what remains to write now (offset, bytes)."""
        if offset >= HEAD_BYTES:
            return offset, view
        keep = min(HEAD_BYTES - offset, len(view))
        self.data += view[:keep]
        return offset + keep, view[keep:]


def padded(length: int, alignment: int) -> int:
    return -(-length // alignment) * alignment


async def write_buffers(
    handle: BlockHandle,
    base: int,
    filled: asyncio.Queue[Filled | None],
    pool: BufferPool,
    hold: HeadHold | None,
    readback: ReadBack | None = None,
    depth: int = 1,
) -> None:
    """Write every posted buffer until the end marker, at most `depth` writes in flight. One is the
    default: on a file target (the benchmark) concurrent O_DIRECT writes measured slower; a disk with a
    deep queue (NVMe) may gain from two."""
    slots = asyncio.Semaphore(depth)
    async with asyncio.TaskGroup() as group:
        while (item := await filled.get()) is not None:
            size = padded(item.length, handle.alignment)
            if size > item.length:
                item.buf[item.length : size] = bytes(size - item.length)
            offset, view = item.offset, memoryview(item.buf)[:size]
            if hold is not None:
                offset, view = hold.take(offset, view)  # in stream order, before any write starts
            if readback is not None:
                readback.note(base + offset, view)
            await slots.acquire()
            group.create_task(_write_one(handle, base + offset, view, item.buf, pool, slots))


async def _write_one(
    handle: BlockHandle,
    offset: int,
    view: memoryview,
    buf: mmap.mmap,
    pool: BufferPool,
    slots: asyncio.Semaphore,
) -> None:
    try:
        if view:
            await handle.write_at(offset, view)
        pool.put(buf)
    finally:
        slots.release()


async def zero_range(handle: BlockHandle, offset: int, length: int) -> None:
    length = min(length, handle.size - offset)
    if length > 0:
        await handle.write_at(offset, bytes(padded(length, handle.alignment)))


async def mark_not_bootable(handle: BlockHandle) -> None:
    """Zero the first MiB (MBR/primary GPT, boot code) and the last MiB (backup GPT: firmware would
    restore a primary GPT from it)."""
    await zero_range(handle, 0, HEAD_BYTES)
    tail = max(HEAD_BYTES, handle.size - HEAD_BYTES) // handle.alignment * handle.alignment
    await zero_range(handle, tail, handle.size - tail)
    await handle.flush()


async def commit_head(handle: BlockHandle, hold: HeadHold) -> None:
    """Write the held-back first MiB: the last write, after the digest matched."""
    data = bytes(hold.data) + bytes(padded(len(hold.data), handle.alignment) - len(hold.data))
    if data:
        await handle.write_at(0, data)
    await handle.flush()
