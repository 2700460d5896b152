"""Direct (O_DIRECT), aligned block I/O: the BlockHandle and the whole-device zero overwrite.

Buffers come from anonymous mmap, so they are page aligned, which satisfies every device's O_DIRECT
memory alignment. Writes run in worker threads (blocking pwrite releases the GIL), several in flight per
device so the queue never drains between requests; progress is reported between batches, and a cancel
waits for the in-flight batches (at most a few hundred MiB) before the file descriptor is closed, so no
thread ever writes through a closed or reused descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import mmap
import os
import stat
import struct
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from teeth_agent.backend.errors import DeviceIOError, DeviceNotFound, DeviceRefused

# BLKSSZGET from <linux/fs.h>: logical sector size of a block device.
_BLKSSZGET = 0x1268
# Regular files (benchmark targets) have no sector ioctl; 4 KiB satisfies O_DIRECT on common filesystems.
_FILE_ALIGNMENT = 4096
CHUNK = 4 << 20  # bytes per pwrite: amortises the syscall, stays cache-friendly
BATCH = 16 << 20  # bytes per thread hop: bounds how long a cancel waits and how often progress is told
DEPTH = 4  # batches in flight per device: keeps the queue full without reordering far

T = TypeVar("T")


@dataclass(frozen=True)
class Geometry:
    size: int
    alignment: int


def open_fd(path: str, writable: bool) -> int:
    flags = (os.O_RDWR if writable else os.O_RDONLY) | os.O_DIRECT | os.O_CLOEXEC
    if writable:
        # On a block device O_EXCL is the kernel's "not in use" check: it fails while the disk is mounted,
        # an md/dm member, or held open exclusively by anyone else.
        flags |= os.O_EXCL
    try:
        return os.open(path, flags)
    except FileNotFoundError as exc:
        raise DeviceNotFound(f"{path}: no such device") from exc
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            raise DeviceRefused(f"{path} is in use (mounted, a RAID/LVM member, or held open)") from exc
        raise DeviceIOError(f"{path}: cannot open for direct I/O: {exc.strerror}") from exc


def _close_opened(future: asyncio.Future[int]) -> None:
    if not future.cancelled() and future.exception() is None:
        os.close(future.result())


async def open_fd_async(path: str, writable: bool) -> int:
    """`open_fd` in a thread; if the caller is cancelled meanwhile, the descriptor is closed, not leaked."""
    opening = asyncio.ensure_future(asyncio.to_thread(open_fd, path, writable))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(_close_opened)
        raise


def geometry_of(fd: int) -> Geometry:
    size = os.lseek(fd, 0, os.SEEK_END)
    if stat.S_ISBLK(os.fstat(fd).st_mode):
        (sector,) = struct.unpack("i", fcntl.ioctl(fd, _BLKSSZGET, b"\0" * 4))
        return Geometry(size, sector)
    return Geometry(size, _FILE_ALIGNMENT)


def aligned_buffer(length: int) -> mmap.mmap:
    """A zero-filled, page-aligned buffer of `length` bytes (rounded up to a page)."""
    pages = -(-max(length, 1) // mmap.PAGESIZE) * mmap.PAGESIZE
    return mmap.mmap(-1, pages)


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        try:
            written = os.pwrite(fd, view, offset)
        except OSError as exc:
            raise DeviceIOError(f"write failed at offset {offset}: {exc.strerror}", offset=offset) from exc
        if written <= 0:
            raise DeviceIOError(f"device accepted no bytes at offset {offset}", offset=offset)
        view, offset = view[written:], offset + written


def _write_span(fd: int, buf: mmap.mmap, start: int, length: int) -> int:
    """Write zeroes from `buf` over [start, start+length) in CHUNK-sized direct writes."""
    whole = memoryview(buf)
    try:
        done = 0
        while done < length:
            step = min(len(whole), length - done)
            _pwrite_all(fd, whole[:step], start + done)
            done += step
        return done
    finally:
        whole.release()


def fsync(fd: int) -> None:
    """Flush the device's write cache; a failure here means the data may not be on the medium."""
    try:
        os.fsync(fd)
    except OSError as exc:
        raise DeviceIOError(f"flush failed: {exc.strerror}") from exc


def _spans(total: int, batch: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, batch):
        yield start, min(batch, total - start)


async def settle(executor: ThreadPoolExecutor) -> None:
    """Wait until every job submitted to `executor` has finished, even through repeated cancellation.

    Cancelling the asyncio side of a thread job does not stop the thread, so an owner must wait here before
    closing the descriptor or buffer those jobs use.
    """
    waiter = asyncio.ensure_future(asyncio.to_thread(executor.shutdown, wait=True))
    cancelled = False
    while not waiter.done():
        try:
            await asyncio.shield(waiter)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def in_thread(executor: ThreadPoolExecutor, call: Callable[[], T]) -> Awaitable[T]:
    """Run `call` on the owner's executor, which the owner later drains with `settle`."""
    return asyncio.get_running_loop().run_in_executor(executor, call)


def release(buf: mmap.mmap) -> None:
    # A failed write's traceback can still reference a view of the buffer; then the garbage collector
    # frees the mapping once that exception is gone, instead of close() raising here.
    with contextlib.suppress(BufferError):
        buf.close()


async def overwrite_zeroes(
    path: str, progress: Callable[[float, float], None], *, chunk: int = CHUNK, batch: int = BATCH,
    depth: int = DEPTH,
) -> int:
    """Overwrite the whole of `path` with zeroes through O_DIRECT; return the bytes written."""
    fd = await open_fd_async(path, True)
    executor = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="overwrite")
    try:
        geometry = geometry_of(fd)
        if chunk % geometry.alignment or batch % chunk:
            raise ValueError(f"chunk {chunk} / batch {batch} not aligned to {geometry.alignment}")
        buf = aligned_buffer(chunk)
        spans = _spans(geometry.size, batch)
        written = 0

        async def worker() -> None:
            nonlocal written
            for start, length in spans:  # the shared iterator hands each span to exactly one worker
                count = await in_thread(executor, functools.partial(_write_span, fd, buf, start, length))
                written += count  # not `written += await ...`: that reads `written` before the await
                progress(written, geometry.size)

        try:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(depth):
                        group.create_task(worker())
            except ExceptionGroup as failed:
                raise failed.exceptions[0] from None
            await in_thread(executor, functools.partial(fsync, fd))  # on the pool settle() waits for
        finally:
            await settle(executor)
            release(buf)
        progress(geometry.size, geometry.size)
        return written
    finally:
        os.close(fd)
