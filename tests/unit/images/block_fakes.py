"""A BlockHandle over a sparse temporary file, that enforces the alignment contract."""

from __future__ import annotations

import os
from pathlib import Path


class FileHandle:
    def __init__(self, path: Path, size: int, alignment: int = 512) -> None:
        self.path = path
        self._size = size
        self._alignment = alignment
        with open(path, "ab") as f:
            f.truncate(size)
        self._fd = os.open(path, os.O_RDWR)
        self.writes = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def alignment(self) -> int:
        return self._alignment

    async def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        if offset % self._alignment or len(data) % self._alignment:
            raise AssertionError(f"unaligned write at {offset} of {len(data)} bytes")
        if offset + len(data) > self._size:
            raise AssertionError(f"write past the end: {offset}+{len(data)} > {self._size}")
        os.pwrite(self._fd, data, offset)
        self.writes += 1

    async def flush(self) -> None:
        os.fsync(self._fd)

    async def close(self) -> None:
        os.close(self._fd)

    def content(self, length: int, offset: int = 0) -> bytes:
        return os.pread(self._fd, length, offset)
