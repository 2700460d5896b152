"""A tiny HTTP/1.1 image server on 127.0.0.1 for tests, with the faults the pipeline must survive.

Routes are plain data (`Route`); every request is recorded so tests can check what the client asked.
Shared by tests/unit/images and tests/sim/standby (loaded by path there).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    # One entry per request, consumed in order: close the connection after this many body bytes.
    drop_after: list[int] = field(default_factory=list)
    trickle_delay: float | None = None  # send one byte, then wait this long, forever
    stall_after: int | None = None  # send this many body bytes, then nothing more (connection kept open)
    ranges: bool = True
    chunked: bool = False
    location: str | None = None
    raw: bytes | None = None  # the whole response, sent as is (for malformed answers)


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class ImageServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> ImageServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            self.requests.append(Request(path, headers))
            await self._answer(self.routes.get(path), headers, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, route: Route | None, headers: dict[str, str], writer: asyncio.StreamWriter
    ) -> None:
        if route is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            return
        if route.raw is not None:
            writer.write(route.raw)
            return
        if route.location is not None:
            redirect = f"HTTP/1.1 302 Found\r\nLocation: {route.location}\r\nContent-Length: 0\r\n\r\n"
            writer.write(redirect.encode())
            return
        if route.status != 200:
            writer.write(f"HTTP/1.1 {route.status} Oops\r\nContent-Length: 0\r\n\r\n".encode())
            return
        start = 0
        if route.ranges and headers.get("range", "").startswith("bytes="):
            start = int(headers["range"][6:].split("-")[0])
        body = route.body[start:]
        status = "206 Partial Content" if start else "200 OK"
        head = [f"HTTP/1.1 {status}", "Connection: close"]
        if start:
            head.append(f"Content-Range: bytes {start}-{len(route.body) - 1}/{len(route.body)}")
        head.append("Transfer-Encoding: chunked" if route.chunked else f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await self._send_body(route, body, writer)

    async def _send_body(self, route: Route, body: bytes, writer: asyncio.StreamWriter) -> None:
        if route.trickle_delay is not None:
            for i in range(len(body)):
                writer.write(body[i : i + 1])
                await writer.drain()
                await asyncio.sleep(route.trickle_delay)
            return
        if route.stall_after is not None:
            writer.write(body[: route.stall_after])
            await writer.drain()
            await asyncio.Event().wait()
        drop = route.drop_after.pop(0) if route.drop_after else None
        if drop is not None:
            writer.write(body[:drop])
            await writer.drain()
            writer.transport.abort()
            return
        step = 256 * 1024
        for i in range(0, len(body), step):
            piece = body[i : i + step]
            if route.chunked:
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            else:
                writer.write(piece)
            await writer.drain()
        if route.chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
