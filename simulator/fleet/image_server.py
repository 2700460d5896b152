"""A tiny HTTP/1.1 image server on 127.0.0.1 for the fleet demo, with per-client download faults.

    server = ImageServer()
    url_path = server.add_blob("tenant.raw.gz", data)     # served at /<client>/<name>
    server.set_faults("m0007", slow_rate=2_000_000, truncate_at=1 << 20)
    await server.start(); url = server.url("m0007", "tenant.raw.gz")

Blobs are held once and shared by every client (a fleet of 1,000 downloads one compressed image).
GET and HEAD; `Range: bytes=N-` and `bytes=N-M` answered with 206; unknown paths 404. Faults:
`slow_rate` (bytes per wall second), `truncate_at` (close after that many body bytes of the client's
first full GET, so the agent must resume with Range). Listening is on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass, field

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
PIECE = 64 * 1024


@dataclass
class ClientFaults:
    slow_rate: int = 0
    truncate_at: int = 0
    truncated_once: bool = False


@dataclass
class ServerStats:
    requests: int = 0
    bytes_sent: int = 0
    truncations: int = 0
    by_client: dict[str, int] = field(default_factory=dict)


class ImageServer:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._faults: dict[str, ClientFaults] = {}
        self._server: asyncio.Server | None = None
        self.port = 0
        self.stats = ServerStats()

    def add_blob(self, name: str, data: bytes) -> str:
        """Register `data`; return its sha256 (the digest of the bytes served)."""
        self._blobs[name] = data
        return hashlib.sha256(data).hexdigest()

    def set_faults(self, client: str, *, slow_rate: int = 0, truncate_at: int = 0) -> None:
        self._faults[client] = ClientFaults(slow_rate, truncate_at)

    def url(self, client: str, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{client}/{name}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=64 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        self.stats.requests += 1
        parts = target.lstrip("/").split("/", 1)
        client, name = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
        blob = self._blobs.get(name)
        keep_alive = headers.get("connection", "").lower() != "close"
        if method not in ("GET", "HEAD") or blob is None:
            status = "405 Method Not Allowed" if blob is not None else "404 Not Found"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            return keep_alive
        start, end, status = 0, len(blob), "200 OK"
        extra = ""
        m = _RANGE.match(headers.get("range", ""))
        if m:
            start = int(m.group(1))
            end = min(len(blob), int(m.group(2)) + 1) if m.group(2) else len(blob)
            if start >= len(blob):
                writer.write(f"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len(blob)}\r\n"
                             "Content-Length: 0\r\n\r\n".encode())
                await writer.drain()
                return keep_alive
            status, extra = "206 Partial Content", f"Content-Range: bytes {start}-{end - 1}/{len(blob)}\r\n"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n"
                     f"Accept-Ranges: bytes\r\nContent-Length: {end - start}\r\n{extra}\r\n".encode())
        if method == "HEAD":
            await writer.drain()
            return keep_alive
        return await self._send_body(writer, client, blob, start, end) and keep_alive

    async def _send_body(self, writer: asyncio.StreamWriter, client: str, blob: bytes, start: int, end: int
                         ) -> bool:
        faults = self._faults.get(client, ClientFaults())
        cut = None
        if faults.truncate_at and not faults.truncated_once and start == 0:
            faults.truncated_once = True
            cut = min(end, faults.truncate_at)
        view = memoryview(blob)
        pos = start
        stop = end if cut is None else cut
        while pos < stop:
            piece = view[pos : min(stop, pos + PIECE)]
            writer.write(piece)
            await writer.drain()
            pos += len(piece)
            self.stats.bytes_sent += len(piece)
            if faults.slow_rate:
                await asyncio.sleep(len(piece) / faults.slow_rate)
        if cut is not None:
            self.stats.truncations += 1
            return False  # close mid-body: the client must resume with Range
        return True
