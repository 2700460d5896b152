"""One HTTP connection's receive side: an asyncio BufferedProtocol that reads straight into ~1 MiB buffers.

asyncio's StreamReader copies every byte twice (into its bytearray, then out of it) and hands back
socket-sized pieces; at image sizes that was the pipeline's bottleneck. Here the kernel writes into the
buffer the consumer will receive, the buffer changes owner when taken, and reading pauses while a full
buffer waits — so at most one buffer per connection is in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

FIRST_BUFFER = 64 * 1024


class Conn(asyncio.BufferedProtocol):
    def __init__(self, chunk_size: int) -> None:
        self._size = chunk_size
        # Starts small and grows as the first chunk arrives: a zeroed chunk-sized buffer per connection
        # (faulted in page by page) cost more than a small body's whole download did.
        self._buf = bytearray(min(chunk_size, FIRST_BUFFER))
        self._fill = 0
        self._closed = False
        self._error: BaseException | None = None
        self._transport: asyncio.Transport | None = None
        self._wakeup: asyncio.Event = asyncio.Event()
        self._last_arrival = time.monotonic()

    # -- protocol side (called by the event loop) ------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._fill >= len(self._buf):
            if len(self._buf) < self._size:
                size = min(self._size, 4 * len(self._buf))
            else:
                # Reading is paused when a chunk is full; should a transport still deliver, grow rather
                # than hand it an empty buffer (the next take copies the excess out).
                size = self._fill + max(sizehint, 64 * 1024)
            grown = bytearray(size)
            grown[: self._fill] = self._buf  # a copy, not a resize: the transport may still hold a view
            self._buf = grown
        return memoryview(self._buf)[self._fill :]

    def buffer_updated(self, nbytes: int) -> None:
        self._fill += nbytes
        self._last_arrival = time.monotonic()
        if self._fill >= self._size and self._transport is not None:
            self._transport.pause_reading()
        self._wakeup.set()

    def eof_received(self) -> bool:
        self._closed = True
        self._wakeup.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._error = exc
        self._wakeup.set()

    # -- consumer side ---------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        assert self._transport is not None
        self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    @property
    def transport(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport

    def upgrade(self, transport: asyncio.Transport) -> None:
        """Carry on over `transport` (TLS started on this connection, e.g. through a proxy's CONNECT)."""
        self._transport = transport

    async def take(self, want: int, idle_timeout: float, least: int | None = None) -> bytes | bytearray:
        """Up to `want` bytes, waiting until `least` (default: `want`) arrived or the peer closed; b"" at
        the end. Waiting for a full chunk keeps the hand-overs few and large.

        Raises TimeoutError only when *nothing* arrived for `idle_timeout` (a trickle that keeps
        arriving is the total deadline's business), and ConnectionError when the connection failed.
        """
        want = min(want, self._size)
        enough = want if least is None else min(least, want)
        while self._fill < enough and not self._closed:
            self._wakeup.clear()
            wait = self._last_arrival + idle_timeout - time.monotonic()
            if wait <= 0:
                raise TimeoutError()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()
        if not self._fill:
            if self._error is not None:
                raise ConnectionResetError(str(self._error))
            return b""
        return self._hand_over(want)

    def _hand_over(self, want: int) -> bytes | bytearray:
        out: bytes | bytearray
        if self._fill == len(self._buf) == self._size and want >= self._fill:
            out, self._buf, self._fill = self._buf, bytearray(self._size), 0  # a full buffer changes owner
        else:
            take = min(want, self._fill)
            out = bytes(self._buf[:take])
            rest = self._fill - take
            self._buf[:rest] = self._buf[take : self._fill]
            self._fill = rest
            if len(self._buf) > self._size and rest <= self._size:
                normal = bytearray(self._size)  # back to the normal size once the excess is out
                normal[:rest] = self._buf[:rest]
                self._buf = normal
        if self._transport is not None and not self._closed and self._fill < self._size:
            self._transport.resume_reading()
        return out
