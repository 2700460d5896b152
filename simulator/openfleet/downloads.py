"""Download faults for a fleet dialling someone else's endpoint: the machine's image traffic, degraded.

The endpoint names image and firmware URLs in its commands. While a machine has a download fault, its
link to the endpoint runs through an in-process pipe that rewrites every `http://` URL inside a `urls`
list of an endpoint->agent command to this process's `DownloadRelay`, which fetches the original URL and
passes the response on slowly (`slow_download`) or cut short once (`truncated_download`), like a bad
network between the machine and the image store. Only plain http:// URLs can be relayed (https:// would
need the relay to impersonate the server); those are left alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PIECE = 64 * 1024
LineRewriter = Callable[[int, bytes], bytes]


@dataclass
class DownloadFaults:
    slow_rate: int = 0  # bytes per wall second; 0 = full speed
    truncate_at: int = 0  # body bytes before the first full download is cut; 0 = never
    truncated_once: bool = False

    def active(self) -> bool:
        return bool(self.slow_rate or (self.truncate_at and not self.truncated_once))


def _encode(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _decode(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def rewrite_urls(value: Any, relay: Callable[[str], str]) -> Any:
    """A copy of `value` with every http:// string inside a "urls" list replaced by relay(url)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "urls" and isinstance(v, list):
                out[k] = [relay(u) if isinstance(u, str) and u.startswith("http://") else u for u in v]
            else:
                out[k] = rewrite_urls(v, relay)
        return out
    if isinstance(value, list):
        return [rewrite_urls(v, relay) for v in value]
    return value


def rewrite_line(line: bytes, relay: Callable[[str], str]) -> bytes:
    if b'"urls"' not in line:
        return line
    try:
        msg = json.loads(line)
    except ValueError:
        return line  # not ours to judge: the agent's protocol session will
    if not isinstance(msg, dict) or "method" not in msg:
        return line
    return json.dumps(rewrite_urls(msg, relay), separators=(",", ":")).encode() + b"\n"


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                change: Callable[[bytes], bytes] | None) -> None:
    try:
        while line := await reader.readline():
            writer.write(change(line) if change is not None else line)
            await writer.drain()
    except (ConnectionError, ValueError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def relay_lines(p_reader: asyncio.StreamReader, p_writer: asyncio.StreamWriter,
                      e_reader: asyncio.StreamReader, e_writer: asyncio.StreamWriter,
                      change: Callable[[bytes], bytes]) -> None:
    """Agent side (the pipe) <-> endpoint, endpoint->agent lines through `change`; either end closes both."""
    up = asyncio.create_task(_pump(p_reader, e_writer, None))
    down = asyncio.create_task(_pump(e_reader, p_writer, change))
    await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
    for w in (p_writer, e_writer):
        w.close()
    await asyncio.gather(up, down, return_exceptions=True)


class DownloadRelay:
    """http://127.0.0.1:PORT/<machine index>/<base64 of the original URL>, with that machine's faults."""

    def __init__(self, faults_of: Callable[[int], DownloadFaults]) -> None:
        self._faults_of = faults_of
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url_for(self, index: int, url: str) -> str:
        return f"http://127.0.0.1:{self.port}/{index}/{_encode(url)}"

    def rewriter(self, index: int, line: bytes) -> bytes:
        return rewrite_line(line, lambda url: self.url_for(index, url))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._one(reader, writer)
        except (ConnectionError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target = [*head[0].split(" "), "", ""][:2]
        index_text, _, encoded = target.lstrip("/").partition("/")
        url = urllib.parse.urlsplit(_decode(encoded))
        if not index_text.isdigit() or url.scheme != "http" or not url.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        faults = self._faults_of(int(index_text))
        hop = ("host", "connection")
        headers = [h for h in head[1:] if h and h.split(":", 1)[0].strip().lower() not in hop]
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        try:
            host = url.netloc.rsplit("@", 1)[-1]
            request = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close", *headers, "", ""]
            up_writer.write("\r\n".join(request).encode("latin-1"))
            await up_writer.drain()
            response_head = await up_reader.readuntil(b"\r\n\r\n")
            writer.write(response_head)
            ranged = b" 206 " in response_head.split(b"\r\n", 1)[0]
            await self._body(up_reader, writer, faults, cut_allowed=not ranged and method == "GET")
        finally:
            up_writer.close()

    async def _body(self, up: asyncio.StreamReader, writer: asyncio.StreamWriter, faults: DownloadFaults,
                    *, cut_allowed: bool) -> None:
        budget = None
        if cut_allowed and faults.truncate_at and not faults.truncated_once:
            faults.truncated_once = True
            budget = faults.truncate_at
        while piece := await up.read(PIECE):
            if budget is not None:
                piece = piece[:budget]
                budget -= len(piece)
            writer.write(piece)
            await writer.drain()
            if faults.slow_rate:
                await asyncio.sleep(len(piece) / faults.slow_rate)
            if budget == 0:
                writer.transport.abort()  # cut mid-body: the agent must resume with Range
                return
