"""DirectHandle: the BlockHandle of the Linux backend, an O_DIRECT file descriptor on a whole disk.

Callers may pass any bytes; they are copied into a page-aligned buffer before the write, because O_DIRECT
needs aligned memory and Python bytes objects are not. Offsets and lengths must be multiples of
`alignment` (the logical sector size) and are checked here, so a misuse is a clear ValueError rather than
an EINVAL from the kernel.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from teeth_agent.backend.errors import DeviceIOError
from teeth_agent.backend.linux.direct_io import (
    aligned_buffer,
    fsync,
    geometry_of,
    in_thread,
    open_fd,
    release,
    settle,
)


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
        fd = await asyncio.to_thread(open_fd, path, writable)
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

    def _check(self, offset: int, length: int) -> int:
        if self._fd is None:
            raise ValueError(f"{self._path}: handle is closed")
        if offset % self._alignment or length % self._alignment or offset < 0:
            raise ValueError(f"{self._path}: offset {offset} / length {length} not multiples of "
                             f"{self._alignment}")
        if offset + length > self._size:
            raise ValueError(f"{self._path}: range {offset}+{length} is beyond the end ({self._size})")
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

    def _write(self, fd: int, offset: int, data: bytes | memoryview) -> None:
        buf = aligned_buffer(len(data))
        try:
            buf[: len(data)] = data
            view = memoryview(buf)[: len(data)]
            try:
                while view:
                    written = os.pwrite(fd, view, offset)
                    view, offset = view[written:], offset + written
            except OSError as exc:
                raise DeviceIOError(f"{self._path}: write failed at {offset}: {exc.strerror}",
                                    offset=offset) from exc
            finally:
                view.release()
        finally:
            release(buf)

    async def read_at(self, offset: int, length: int) -> bytes:
        fd = self._check(offset, length)
        return await in_thread(self._executor, lambda: self._read(fd, offset, length))

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        fd = self._check(offset, len(data))
        await in_thread(self._executor, lambda: self._write(fd, offset, data))

    async def flush(self) -> None:
        fd = self._check(0, 0)
        await in_thread(self._executor, lambda: fsync(fd))

    async def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            await settle(self._executor)
        finally:
            os.close(fd)
