"""The receive buffer of an HTTP connection, driven the way an asyncio transport drives it."""

from __future__ import annotations

import asyncio

from teeth_agent.http.receiver import Conn


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.written = b""

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        pass


def deliver(conn: Conn, data: bytes) -> None:
    """What a transport does: ask for a buffer, fill what fits, report it; repeat."""
    while data:
        buf = conn.get_buffer(-1)
        n = min(len(buf), len(data))
        buf[:n] = data[:n]
        conn.buffer_updated(n)
        data = data[n:]


async def test_full_buffer_pauses_and_changes_owner() -> None:
    conn, transport = Conn(1024), FakeTransport()
    conn.connection_made(transport)
    deliver(conn, bytes(range(256)) * 4)
    assert transport.paused
    first = await conn.take(4096, idle_timeout=1.0)
    assert first == bytes(range(256)) * 4 and not transport.paused


async def test_delivery_past_a_full_buffer_is_kept_in_order() -> None:
    conn, transport = Conn(1024), FakeTransport()
    conn.connection_made(transport)
    data = bytes(i % 251 for i in range(5000))
    deliver(conn, data)  # a transport that ignores the pause: the buffer grows instead of losing bytes
    got = b""
    while len(got) < len(data):
        got += await conn.take(1024, idle_timeout=1.0, least=1)
    assert got == data


async def test_least_returns_what_has_arrived() -> None:
    conn, transport = Conn(1024), FakeTransport()
    conn.connection_made(transport)
    deliver(conn, b"HTTP/1.1 200 OK\r\n\r\n")
    assert await conn.take(1024, idle_timeout=1.0, least=1) == b"HTTP/1.1 200 OK\r\n\r\n"


async def test_small_takes_and_end_of_stream() -> None:
    conn, transport = Conn(1024), FakeTransport()
    conn.connection_made(transport)
    deliver(conn, b"HTTP/1.1 200 OK\r\n\r\nbody")
    conn.eof_received()
    assert await conn.take(4, idle_timeout=1.0) == b"HTTP"
    rest = await conn.take(1024, idle_timeout=1.0)
    assert rest == b"/1.1 200 OK\r\n\r\nbody"
    assert await conn.take(1024, idle_timeout=1.0) == b""


async def test_silence_times_out_but_a_closed_connection_does_not() -> None:
    conn, transport = Conn(1024), FakeTransport()
    conn.connection_made(transport)
    try:
        await conn.take(10, idle_timeout=0.05)
    except TimeoutError:
        pass
    else:
        raise AssertionError("no timeout on a silent connection")
    conn.connection_lost(ConnectionResetError("reset by peer"))
    try:
        await conn.take(10, idle_timeout=0.05)
    except ConnectionResetError as exc:
        assert "reset by peer" in str(exc)


async def test_a_chunk_larger_than_the_first_buffer_arrives_whole_and_pauses_only_when_full() -> None:
    size = 256 * 1024
    conn, transport = Conn(size), FakeTransport()
    conn.connection_made(transport)
    data = bytes(i % 253 for i in range(size + 1000))
    deliver(conn, data[: size - 1])
    assert not transport.paused  # the buffer grew as bytes came; the chunk is not full yet
    deliver(conn, data[size - 1 :])
    assert transport.paused
    assert await conn.take(size, idle_timeout=1.0) == data[:size]
    assert not transport.paused
    conn.eof_received()
    assert await conn.take(size, idle_timeout=1.0) == data[size:]
