"""Where the agent dials, and how it keeps dialing.

Endpoint URLs:
  tcp://HOST:PORT     plain TCP
  tls://HOST:PORT     TLS, the server checked against --ca-file; mutual with a client cert (--cert/--key)
  unix:///PATH        a unix stream socket
  /dev/...            a character device such as /dev/virtio-ports/NAME (also written serial:///PATH)

`Dialer` walks the endpoints in order: a failed dial moves on to the next one (failover) and each failure
lengthens the wait before the next dial — exponential backoff with jitter, capped. An accepted handshake
resets the count, so a flapping link does not grow the delay forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import ssl
import stat
import tty
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from teeth_agent.urls import host_port

log = logging.getLogger(__name__)

Scheme = Literal["tcp", "tls", "unix", "serial"]
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# Big enough for the protocol's 1 MiB line limit should a reader use readline().
STREAM_LIMIT = 2 * 1024 * 1024


@dataclass(frozen=True)
class EndpointUrl:
    scheme: Scheme
    host: str = ""
    port: int = 0
    path: str = ""

    def __str__(self) -> str:
        if self.scheme in ("tcp", "tls"):
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"{self.scheme}://{host}:{self.port}"
        return f"{self.scheme}://{self.path}"


def parse_endpoint(url: str) -> EndpointUrl:
    """Parse one endpoint URL; a ValueError names what is wrong with it."""
    text = url.strip()
    if text.startswith("/"):
        return EndpointUrl("serial", path=text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("unix", "serial"):
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if not path.startswith("/"):
            raise ValueError(f"endpoint {url!r}: {scheme}:// needs an absolute path, e.g. {scheme}:///run/x")
        return EndpointUrl("unix" if scheme == "unix" else "serial", path=path)
    if scheme not in ("tcp", "tls"):
        raise ValueError(f"endpoint {url!r}: scheme must be tcp, tls, unix or serial (or a /dev path)")
    host, port = host_port(url, parts, what="endpoint", allow_port_zero=False)
    return EndpointUrl(scheme, host=host, port=port)  # type: ignore[arg-type]


def client_tls_context(ca_file: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """A client context that checks the endpoint's certificate and, given one, presents ours."""
    if key and not cert:
        raise ValueError("--key given without --cert")
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    # Fraction of each delay that is randomised away, so a fleet that lost its endpoint does not
    # come back in lockstep.
    jitter: float = 0.5

    def delay(self, failures: int, rand: float) -> float:
        """Delay before the next dial after `failures` consecutive failures; `rand` is uniform in [0, 1)."""
        if failures < 0:
            raise ValueError("failures must be >= 0")
        base = min(self.cap, self.initial * self.factor ** min(failures, 64))
        return base * (1.0 - self.jitter * min(max(rand, 0.0), 1.0))


class _SerialWriteProtocol(asyncio.streams.FlowControlMixin):
    """The write side of a character device: StreamWriter.wait_closed needs a close waiter, which the
    bare FlowControlMixin does not provide (it raises NotImplementedError)."""

    def __init__(self) -> None:
        super().__init__()
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._closed.done():
            self._closed.set_result(None)

    def _get_close_waiter(self, stream: asyncio.StreamWriter) -> asyncio.Future[None]:
        return self._closed


STALE_READS = 256  # at most 16 MiB discarded on open: a peer that keeps talking is not stale


def _discard_stale_input(fd: int, path: str) -> None:
    """A character device has no connection boundary: what the endpoint sent to a previous agent
    process (the reply to its last request, say) is still queued. Read it away before our handshake,
    or the new session would start with a response to an id it never sent."""
    stale = 0
    for _ in range(STALE_READS):
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        stale += len(chunk)
    if stale:
        log.info("%s: discarded %d bytes left from an earlier session", path, stale)


async def _open_serial(path: str) -> Streams:
    """Asyncio streams over a character device (read and write through two descriptors)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        if not stat.S_ISCHR(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a character device")
        if os.isatty(fd):
            # A tty would echo and cook our lines; the protocol needs the bytes as they are.
            tty.setraw(fd)
        _discard_stale_input(fd, path)
        wfd = os.dup(fd)
    except BaseException:
        os.close(fd)
        raise
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT)
    rfile, wfile = os.fdopen(fd, "rb", buffering=0), os.fdopen(wfd, "wb", buffering=0)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rfile)
        wtransport, wproto = await loop.connect_write_pipe(_SerialWriteProtocol, wfile)
    except BaseException:
        rfile.close()
        wfile.close()
        raise
    return reader, asyncio.StreamWriter(wtransport, wproto, reader, loop)


async def open_endpoint(ep: EndpointUrl, tls: ssl.SSLContext | None) -> Streams:
    if ep.scheme == "tcp":
        return await asyncio.open_connection(ep.host, ep.port, limit=STREAM_LIMIT)
    if ep.scheme == "tls":
        ctx = tls or client_tls_context(None, None, None)
        return await asyncio.open_connection(
            ep.host, ep.port, ssl=ctx, server_hostname=ep.host, limit=STREAM_LIMIT
        )
    if ep.scheme == "unix":
        return await asyncio.open_unix_connection(ep.path, limit=STREAM_LIMIT)
    return await _open_serial(ep.path)


Opener = Callable[[EndpointUrl], Awaitable[Streams]]


class Dialer:
    """Dial the endpoints in failover order, backing off between failures."""

    def __init__(
        self,
        endpoints: Sequence[EndpointUrl],
        *,
        opener: Opener,
        backoff: Backoff = Backoff(),
        connect_timeout: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not endpoints:
            raise ValueError("no endpoint: give --endpoint URL or teeth.endpoint= on the kernel command line")
        self._endpoints = tuple(endpoints)
        self._open = opener
        self._backoff = backoff
        self._timeout = connect_timeout
        self._sleep = sleep
        self._rand = rand
        self._index = 0
        self._failures = 0
        self._dialed_before = False

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def current(self) -> EndpointUrl:
        return self._endpoints[self._index]

    async def connect(self) -> tuple[EndpointUrl, Streams]:
        """Return streams to the first endpoint that answers; waits (bounded by the cap) between tries."""
        while True:
            if self._dialed_before:
                # The first retry waits `initial`, as does a redial after a connection that worked.
                await self._sleep(self._backoff.delay(max(0, self._failures - 1), self._rand()))
            self._dialed_before = True
            ep = self.current
            try:
                async with asyncio.timeout(self._timeout):
                    streams = await self._open(ep)
            except (OSError, TimeoutError) as exc:
                log.warning("dial %s failed: %s", ep, exc or type(exc).__name__)
                self.failed()
                continue
            return ep, streams

    def accepted(self) -> None:
        """The endpoint accepted our handshake: the link works, start backing off from scratch."""
        self._failures = 0

    def failed(self) -> None:
        """This endpoint did not work out (dial failed, handshake refused): try the next one, wait longer."""
        self._failures += 1
        self._index = (self._index + 1) % len(self._endpoints)
