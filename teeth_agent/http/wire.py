"""HTTP/1.1 message framing for the image client: request bytes, response head, body chunks.

Kept apart from the retry policy in http.py so each reads on its own. Only what a GET of a large file
needs: Content-Length, chunked transfer coding, or a body delimited by the connection closing.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from teeth_agent.http.receiver import Conn

HEAD_LIMIT = 64 * 1024
# RFC 9112 chunk-size: hex digits only. int(x, 16) alone also takes "-5", "+5", "0x5", "5_0" and spaces,
# and a negative size was read as an empty chunk. 16 digits are more than any real chunk needs.
_CHUNK_SIZE = re.compile(rb"^[0-9a-fA-F]{1,16}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class IncompleteBody(ConnectionError):
    """The peer closed the connection before the end of the body."""


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


def build_request(
    parts: urllib.parse.SplitResult,
    start: int,
    user_agent: str,
    *,
    absolute: bool = False,
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """A GET; `absolute`: the request target as a full URL, as a plain-http request to a proxy is sent."""
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host = parts.netloc.rpartition("@")[2]  # never send userinfo as part of Host
    if absolute:
        path = f"{parts.scheme}://{host}{path}"
    for name, value in headers:
        if any(c in name + value for c in "\r\n\0"):
            raise ValueError(f"header {name!r} holds a line break")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        f"User-Agent: {user_agent}",
        *(() if any(name.lower() == "accept" for name, _ in headers) else ("Accept: */*",)),
        # The content's own compression is detected and decoded by the pipeline; no transfer gzip.
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    if start:
        lines.append(f"Range: bytes={start}-")
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_head(raw: bytes) -> Response:
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


def parse_chunk_size(line: bytes) -> int:
    """The size on a chunk's header line (extensions after ';' ignored); ValueError unless plain hex."""
    digits = line.split(b";", 1)[0].strip(b" \t")
    if not _CHUNK_SIZE.match(digits):
        raise ValueError(f"chunked body: bad chunk size {line[:40]!r}")
    return int(digits, 16)


class Body:
    """The bytes after the response head: a leftover from the head read, then the connection."""

    def __init__(self, conn: Conn, timeout: Callable[[], float], chunk_size: int) -> None:
        self._conn = conn
        self._timeout = timeout
        self._chunk = chunk_size
        self._rest = b""

    @property
    def leftover(self) -> bytes:
        """Bytes that arrived after the head and were not read yet."""
        return self._rest

    async def read_head(self) -> Response:
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            if len(data) > HEAD_LIMIT:
                raise ValueError("response head too large")
            more = await self._conn.take(HEAD_LIMIT, self._timeout(), least=1)
            if not more:
                raise IncompleteBody("connection closed before the response head ended")
            data += more
        self._rest = data[end + 4 :]
        return parse_head(data[: end + 4])

    async def read(self, n: int, least: int | None = None) -> bytes | bytearray:
        """Up to n bytes (waiting for `least`, default n); b"" at the end of the connection."""
        if self._rest:
            out, self._rest = self._rest[:n], self._rest[n:]
            return out
        return await self._conn.take(n, self._timeout(), least)

    async def readline(self) -> bytes:
        data = b""
        while (end := data.find(b"\r\n")) < 0:
            more = await self.read(self._chunk, least=1)
            if not more or len(data) > HEAD_LIMIT:
                raise IncompleteBody("chunked body: missing line end")
            data += more
        self._rest = data[end + 2 :] + self._rest
        return data[:end]

    async def chunks(self, response: Response) -> AsyncGenerator[bytes | bytearray, None]:
        if response.chunked:
            async for piece in self._chunked():
                yield piece
            return
        remaining = response.content_length
        while remaining is None or remaining > 0:
            data = await self.read(self._chunk if remaining is None else min(self._chunk, remaining))
            if not data:
                if remaining is None:
                    return
                raise IncompleteBody(f"connection closed with {remaining} body bytes missing")
            if remaining is not None:
                remaining -= len(data)
            yield data

    async def _chunked(self) -> AsyncGenerator[bytes | bytearray, None]:
        while True:
            size = parse_chunk_size(await self.readline())
            if size == 0:
                while await self.readline():
                    pass  # trailers: ignored
                return
            while size > 0:
                data = await self.read(min(size, self._chunk))
                if not data:
                    raise IncompleteBody("connection closed inside a chunk")
                size -= len(data)
                yield data
            if await self.readline():
                raise ValueError("chunked body: data after a chunk")
