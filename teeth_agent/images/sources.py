"""Byte sources for the pipeline besides HTTP: a cache region on a disk, and a primed download."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from teeth_agent.backend.api import BlockHandle
from teeth_agent.http.client import HttpDownload

READ_CHUNK = 4 << 20


@dataclass
class RegionSource:
    """`length` bytes stored at `offset` of an open handle (a cached image, as it was served)."""

    handle: BlockHandle
    offset: int
    length: int

    @property
    def total(self) -> int | None:
        return self.length

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        align = self.handle.alignment
        pos = 0
        while pos < self.length:
            want = min(READ_CHUNK, self.length - pos)
            data = await self.handle.read_at(self.offset + pos, -(-want // align) * align)
            if len(data) < want:
                raise OSError(f"short read of the cache region at {self.offset + pos}")
            yield data[:want] if len(data) > want else data
            pos += want


@dataclass
class PrimedDownload:
    """An HTTP download whose first chunk is fetched before the pipeline starts, so the size the
    server announces is known when choosing where the image goes."""

    download: HttpDownload
    _stream: AsyncGenerator[bytes, None] | None = None
    _first: bytes = field(default=b"")

    @property
    def total(self) -> int | None:
        return self.download.total

    async def prime(self) -> int | None:
        self._stream = self.download.chunks()
        self._first = await anext(self._stream, b"")
        return self.download.total

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        if self._stream is None:
            await self.prime()
        assert self._stream is not None
        if self._first:
            yield self._first
            self._first = b""
        async for chunk in self._stream:
            yield chunk
