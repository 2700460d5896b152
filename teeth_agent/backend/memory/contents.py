"""A disk's bytes: sparse in memory (so a 4 TB disk costs nothing until written), or a file a real tool
can also open. Both read past the end as a device does: short, then empty.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Protocol

CHUNK = 64 * 1024
# What an erase that leaves no known pattern (a crypto erase, a new media key) reads back as.
NOISE = None


class DiskBytes(Protocol):
    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes | memoryview) -> None: ...

    def fill(self, start: int, end: int, byte: int | None) -> None:
        """Set [start, end) to `byte`, or to unpredictable noise when `byte` is None."""
        ...


class SparseBytes:
    """Written 64 KiB chunks are kept; the rest reads as the background (a byte value, or noise)."""

    def __init__(self, size: int, fill: int | None = 0) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self._size = size
        self._chunks: dict[int, bytearray] = {}
        self._background = fill
        self._generation = 0  # noise differs after every whole-disk fill, as a new media key does

    @property
    def size(self) -> int:
        return self._size

    def _chunk_len(self, index: int) -> int:
        return min(CHUNK, self._size - index * CHUNK)

    def _blank(self, index: int) -> bytes:
        length = self._chunk_len(index)
        if self._background is None:
            return random.Random(f"{self._generation}:{index}").randbytes(length)
        return bytes([self._background]) * length

    def read(self, offset: int, length: int) -> bytes:
        end = min(self._size, offset + length)
        out = bytearray()
        pos = offset
        while pos < end:
            index, inner = divmod(pos, CHUNK)
            take = min(end - pos, CHUNK - inner)
            chunk = self._chunks.get(index)
            out += (chunk if chunk is not None else self._blank(index))[inner : inner + take]
            pos += take
        return bytes(out)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        if offset < 0 or offset + len(data) > self._size:
            raise ValueError(f"write of {len(data)} bytes at {offset} outside a {self._size}-byte disk")
        view = memoryview(data).cast("B")
        pos = 0
        while pos < len(view):
            index, inner = divmod(offset + pos, CHUNK)
            take = min(len(view) - pos, CHUNK - inner)
            chunk = self._chunks.get(index)
            if chunk is None:
                chunk = self._chunks[index] = bytearray(self._blank(index))
            chunk[inner : inner + take] = view[pos : pos + take]
            pos += take

    def fill(self, start: int, end: int, byte: int | None) -> None:
        end = min(end, self._size)
        if start <= 0 and end >= self._size:
            self._chunks.clear()
            self._background = byte
            self._generation += 1
            return
        pos = max(0, start)
        noise = random.Random(f"fill:{self._generation}:{start}:{end}")
        while pos < end:
            take = min(end - pos, CHUNK - pos % CHUNK)
            self.write(pos, noise.randbytes(take) if byte is None else bytes([byte]) * take)
            pos += take


class FileBytes:
    """A disk backed by a file (created sparse at `size`), for tests where a real tool opens the disk."""

    def __init__(self, path: Path, size: int, fill: int = 0) -> None:
        self.path = path
        self._size = size
        with open(path, "ab") as f:
            f.truncate(size)
        if fill:
            self.fill(0, size, fill)

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return os.pread(fd, max(0, min(length, self._size - offset)), offset)
        finally:
            os.close(fd)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        if offset < 0 or offset + len(data) > self._size:
            raise ValueError(f"write of {len(data)} bytes at {offset} outside a {self._size}-byte disk")
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, data, offset)
        finally:
            os.close(fd)

    def fill(self, start: int, end: int, byte: int | None) -> None:
        end = min(end, self._size)
        noise = random.Random(f"fill:{start}:{end}")
        pos = max(0, start)
        while pos < end:
            take = min(end - pos, 1 << 20)
            self.write(pos, noise.randbytes(take) if byte is None else bytes([byte]) * take)
            pos += take
