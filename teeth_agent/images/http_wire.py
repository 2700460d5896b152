"""HTTP/1.1 message framing for the image client: request bytes, response head, body chunks.

Kept apart from the retry policy in http.py so each reads on its own. Only what a GET of a large file
needs: Content-Length, chunked transfer coding, or a body delimited by the connection closing.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

_HEAD_LIMIT = 64 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def chunked(self) -> bool:
        return "chunked" in self.headers.get("transfer-encoding", "").lower()

    @property
    def location(self) -> str | None:
        return self.headers.get("location")

    def content_range(self) -> tuple[int, int | None]:
        """(first byte, complete length or None) of a 206 answer."""
        match = _CONTENT_RANGE.match(self.headers.get("content-range", "").strip())
        if not match:
            raise ValueError(f"bad Content-Range {self.headers.get('content-range')!r}")
        total = match.group(3)
        return int(match.group(1)), None if total == "*" else int(total)


def build_request(parts: urllib.parse.SplitResult, start: int, user_agent: str) -> bytes:
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host = parts.netloc.rpartition("@")[2]  # never send userinfo as part of Host
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {user_agent}",
        "Accept: */*",
        # The content's own compression is detected and decoded by the pipeline; no transfer gzip.
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    if start:
        lines.append(f"Range: bytes={start}-")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_response_head(reader: asyncio.StreamReader) -> Response:
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > _HEAD_LIMIT:
        raise ValueError("response head too large")
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise ValueError(f"not an HTTP/1.x status line: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line!r}")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return Response(int(code), reason.strip(), headers)


async def body_chunks(
    reader: asyncio.StreamReader,
    response: Response,
    read_timeout: Callable[[], float],
    chunk_size: int,
) -> AsyncIterator[bytes]:
    """The body's bytes. Raises IncompleteReadError when the peer closes before the end."""
    if response.chunked:
        async for piece in _chunked(reader, read_timeout, chunk_size):
            yield piece
        return
    remaining = response.content_length
    while remaining is None or remaining > 0:
        want = chunk_size if remaining is None else min(chunk_size, remaining)
        async with asyncio.timeout(read_timeout()):
            data = await reader.read(want)
        if not data:
            if remaining is None:
                return
            raise asyncio.IncompleteReadError(b"", remaining)
        if remaining is not None:
            remaining -= len(data)
        yield data


async def _chunked(
    reader: asyncio.StreamReader, read_timeout: Callable[[], float], chunk_size: int
) -> AsyncIterator[bytes]:
    while True:
        async with asyncio.timeout(read_timeout()):
            size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            async with asyncio.timeout(read_timeout()):
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers: ignored
            return
        while size > 0:
            async with asyncio.timeout(read_timeout()):
                data = await reader.read(min(size, chunk_size))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)
            yield data
        async with asyncio.timeout(read_timeout()):
            await reader.readexactly(2)
