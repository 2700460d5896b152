"""DirectHandle: the BlockHandle of the Linux backend, an O_DIRECT file descriptor on a whole disk.

Callers may pass any bytes. A writable buffer that already sits at an aligned address (a pooled mmap
buffer) is written as it is; anything else is first copied into a page-aligned buffer, because O_DIRECT
needs aligned memory and Python bytes objects are not. Offsets and lengths must be multiples of
`alignment` (the logical sector size); they are checked here, so a misuse is a clear DeviceIOError naming
the offset rather than a bare EINVAL from the kernel.
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

from teeth_agent.backend.errors import DeviceIOError
from teeth_agent.backend.linux.direct_io import (
    aligned_buffer,
    fsync,
    geometry_of,
    in_thread,
    open_fd_async,
    release,
    settle,
)


def _address(view: memoryview) -> int:
    """The memory address of a writable buffer; -1 (never aligned) for read-only ones such as bytes."""
    if view.readonly:
        return -1
    try:
        holder = (ctypes.c_char * view.nbytes).from_buffer(view)
    except (TypeError, ValueError):
        return -1
    try:
        return ctypes.addressof(holder)
    finally:
        del holder  # drop the buffer export at once, so the caller can close or resize its buffer


class DirectHandle:
    def __init__(self, path: str, fd: int) -> None:
        self._path = path
        self._fd: int | None = fd
        geometry = geometry_of(fd)
        self._size = geometry.size
        self._alignment = geometry.alignment
        # Its own threads, so close() can wait for every read/write still running before closing the fd.
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="blockio")

    @classmethod
    async def open(cls, path: str, *, writable: bool) -> DirectHandle:
        fd = await open_fd_async(path, writable)
        try:
            return cls(path, fd)
        except BaseException:
            os.close(fd)
            raise

    @property
    def size(self) -> int:
        return self._size

    @property
    def alignment(self) -> int:
        return self._alignment

    def _fd_for(self, offset: int, length: int) -> int:
        # Misuse is reported the way a device reports it (an I/O error, as the kernel's EINVAL/ENOSPC
        # would be), but before any byte moves, so a write straddling the end never lands half-way.
        if self._fd is None:
            raise ValueError(f"{self._path}: handle is closed")
        if offset < 0 or offset % self._alignment or length % self._alignment:
            raise DeviceIOError(f"{self._path}: offset {offset} / length {length} not multiples of "
                                f"{self._alignment}", offset=offset)
        return self._fd

    def _read(self, fd: int, offset: int, length: int) -> bytes:
        buf = aligned_buffer(length)
        try:
            got = os.preadv(fd, [buf], offset)
            if got < length:
                raise DeviceIOError(f"{self._path}: short read at {offset}", offset=offset)
            return bytes(buf[:length])
        except OSError as exc:
            raise DeviceIOError(f"{self._path}: read failed at {offset}: {exc.strerror}",
                                offset=offset) from exc
        finally:
            release(buf)

    def _pwrite_all(self, fd: int, view: memoryview, offset: int) -> None:
        try:
            while view:
                written = os.pwrite(fd, view, offset)
                view, offset = view[written:], offset + written
        except OSError as exc:
            raise DeviceIOError(f"{self._path}: write failed at {offset}: {exc.strerror}",
                                offset=offset) from exc

    def _write(self, fd: int, offset: int, data: memoryview) -> None:
        if _address(data) % self._alignment == 0:
            self._pwrite_all(fd, data, offset)  # already aligned (a pooled mmap buffer): no copy
            return
        buf = aligned_buffer(data.nbytes)
        try:
            buf[: data.nbytes] = data
            view = memoryview(buf)[: data.nbytes]
            try:
                self._pwrite_all(fd, view, offset)
            finally:
                view.release()
        finally:
            release(buf)

    async def read_at(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes: fewer at the end of the device, none past it (as pread on a device)."""
        fd = self._fd_for(offset, length)
        length = max(0, min(length, self._size - offset))
        if length == 0:
            return b""
        return await in_thread(self._executor, lambda: self._read(fd, offset, length))

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        fd = self._fd_for(offset, view.nbytes)
        if offset + view.nbytes > self._size:
            raise DeviceIOError(f"{self._path}: write of {view.nbytes} at {offset} passes the end "
                                f"({self._size})", offset=offset)
        await in_thread(self._executor, lambda: self._write(fd, offset, view))
        view.release()  # only after the write: the caller may close or reuse its buffer right away

    async def flush(self) -> None:
        fd = self._fd_for(0, 0)
        await in_thread(self._executor, lambda: fsync(fd))

    async def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            await settle(self._executor)
        finally:
            os.close(fd)
