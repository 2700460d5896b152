"""Connection over real sockets on 127.0.0.1: calls both ways, liveness, back-pressure and hostile peers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest
from endpoint_netpair import TcpPair

from teeth_agent.connection import CallTimeout, CommandFailed, Connection, ConnectionClosed, Handler, Hangup
from teeth_agent.protocol import Command, ErrorPayload, JsonObject, Role

HS = b'{"version":"v1","id":"h","method":"handshake","params":{}}\n'


def echo_handler(cmd: Command) -> JsonObject | ErrorPayload:
    if cmd.method == "echo":
        return {"echo": cmd.params}
    return ErrorPayload(f"unknown method {cmd.method}", "unknown_method")


@asynccontextmanager
async def running(conn: Connection) -> AsyncIterator[asyncio.Task[str]]:
    task = asyncio.create_task(conn.run())
    try:
        yield task
    finally:
        await conn.close()
        await task


async def linked(
    tcp: TcpPair, agent_handler: Handler = echo_handler, endpoint_handler: Handler = echo_handler, **kw: Any
) -> tuple[Connection, Connection]:
    (cr, cw), (sr, sw) = await tcp.open()
    agent = Connection(cr, cw, Role.AGENT, handler=agent_handler, **kw)
    endpoint = Connection(sr, sw, Role.ENDPOINT, handler=endpoint_handler, **kw)
    return agent, endpoint


async def test_calls_flow_both_ways(tcp: TcpPair) -> None:
    async def slow(cmd: Command) -> JsonObject:
        await asyncio.sleep(0)
        return {"slow": cmd.method}

    agent, endpoint = await linked(tcp, endpoint_handler=lambda c: {"ok": c.method} if c.method else {})
    agent._handler = slow
    async with running(agent), running(endpoint):
        assert await agent.call("handshake", {"agent_id": "a"}) == {"ok": "handshake"}
        assert await endpoint.call("status") == {"slow": "status"}
        assert await agent.call("ping", {"n": 1}) == {"n": 1}
        assert await endpoint.call("ping", {"n": 2}) == {"n": 2}


async def test_error_responses_raise_command_failed(tcp: TcpPair) -> None:
    def boom(cmd: Command) -> JsonObject:
        raise RuntimeError("secret traceback detail")

    agent, endpoint = await linked(tcp, endpoint_handler=boom)
    async with running(agent), running(endpoint):
        with pytest.raises(CommandFailed) as info:
            await agent.call("handshake")
        assert info.value.error.type == "internal"
        assert "secret" not in info.value.error.msg
        with pytest.raises(CommandFailed, match="unknown_method"):
            await endpoint.call("nope")


async def test_hangup_answers_then_closes(tcp: TcpPair) -> None:
    def refuse(cmd: Command) -> JsonObject:
        raise Hangup(ErrorPayload("bad token", "unauthorized"))

    agent, endpoint = await linked(tcp, endpoint_handler=refuse)
    async with running(agent) as agent_run, running(endpoint):
        with pytest.raises(CommandFailed, match="unauthorized"):
            await agent.call("handshake")
        assert "closed" in await agent_run
    assert endpoint.close_reason is not None and "unauthorized" in endpoint.close_reason


async def test_call_timeout_is_local_and_the_late_answer_is_dropped(tcp: TcpPair) -> None:
    release = asyncio.Event()

    async def stall(cmd: Command) -> JsonObject:
        await release.wait()
        return {}

    agent, endpoint = await linked(tcp, endpoint_handler=stall)
    async with running(agent), running(endpoint):
        with pytest.raises(CallTimeout):
            await agent.call("handshake", timeout=0.05)
        release.set()
        assert await agent.call("ping", {"still": "up"}) == {"still": "up"}
        assert not agent.closed


async def test_pending_calls_fail_when_the_peer_goes_away(tcp: TcpPair) -> None:
    (cr, cw), (_sr, sw) = await tcp.open()
    agent = Connection(cr, cw, Role.AGENT)
    async with running(agent):
        call = asyncio.create_task(agent.call("handshake"))
        await asyncio.sleep(0.01)
        sw.close()
        with pytest.raises(ConnectionClosed, match="peer closed"):
            await call
        with pytest.raises(ConnectionClosed):
            agent.notify("log", {})


async def test_idle_link_is_pinged_then_closed_after_three_silent_intervals(tcp: TcpPair) -> None:
    (cr, cw), (sr, sw) = await tcp.open()
    endpoint = Connection(sr, sw, Role.ENDPOINT, idle_interval=0.05)
    async with running(endpoint) as run:
        cw.write(HS)  # then stay silent: never answer the endpoint's pings
        reason = await run
        assert "no traffic" in reason
    seen = [json.loads(line) for line in (await cr.read()).splitlines()]
    assert any(m.get("method") == "ping" for m in seen)
    assert "no traffic" in (endpoint.close_reason or "")
    cw.close()


Sender = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def raw_exchange(tcp: TcpPair, send: Sender) -> tuple[str, bytes]:
    """Run an endpoint Connection against a raw peer; return its close reason and all bytes it sent."""
    (cr, cw), (sr, sw) = await tcp.open()
    endpoint = Connection(sr, sw, Role.ENDPOINT, handler=echo_handler, max_write_buffer=256 << 10)
    task = asyncio.create_task(endpoint.run())
    with suppress(OSError):  # the endpoint may hang up while the hostile peer is still writing
        await send(cw)
    received = await cr.read()  # up to the endpoint's half-close after its fatal_error
    cw.close()
    return await asyncio.wait_for(task, 30), received


def fatal_of(received: bytes) -> str:
    last = json.loads(received.splitlines()[-1])
    assert last["version"] == "v1"
    return str(last["fatal_error"])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json\n", "not JSON"),
        (b"\xc3\x28\n", "UTF-8"),
        (HS + b'{"version":"v1","id":"x","method":"echo","params":' + b"[" * 50_000 + b"}\n", "nested"),
        (HS + b'{"version":"v1","id":"x","method":"echo","params":{"n":' + b"7" * 9000 + b"}}\n", "JSON"),
        (HS + b'{"version":"v1","id":"x","method":"echo","params":[]}\n', "params"),
        (HS + b'{"version":"v1","id":"zz","result":{}}\n', "not pending"),
        (b'{"version":"v1","id":"1","method":"echo"}\n', "handshake"),
    ],
)
async def test_hostile_lines_get_a_fatal_error_and_a_close(tcp: TcpPair, payload: bytes, reason: str) -> None:
    async def send(w: asyncio.StreamWriter) -> None:
        w.write(payload)
        await w.drain()

    close_reason, received = await raw_exchange(tcp, send)
    assert reason in fatal_of(received)
    assert "violation" in close_reason


async def test_duplicate_pending_id_is_fatal(tcp: TcpPair) -> None:
    async def stall(cmd: Command) -> JsonObject:
        await asyncio.sleep(3600)
        return {}

    (cr, cw), (sr, sw) = await tcp.open()
    endpoint = Connection(sr, sw, Role.ENDPOINT, handler=stall)
    async with running(endpoint) as run:
        cw.write(b'{"version":"v1","id":"d","method":"handshake"}\n' * 2)
        assert "already pending" in fatal_of(await cr.read())
        cw.close()
        assert "already pending" in await run


async def test_oversized_line_is_fatal_before_it_ends(tcp: TcpPair) -> None:
    async def send(w: asyncio.StreamWriter) -> None:
        w.write(HS + b'{"version":"v1","id":"x","method":"echo","params":{"pad":"')
        for _ in range(40):  # 2.5 MiB without a newline
            w.write(b"x" * 65536)
            await w.drain()

    close_reason, received = await raw_exchange(tcp, send)
    assert "limit" in fatal_of(received) and "limit" in close_reason


async def test_peer_vanishing_mid_message_just_closes(tcp: TcpPair) -> None:
    async def send(w: asyncio.StreamWriter) -> None:
        w.write(HS + b'{"version":"v1","id":"x","meth')
        await w.drain()
        w.close()

    close_reason, _ = await raw_exchange(tcp, send)
    assert "mid-message" in close_reason


async def test_peer_that_stops_reading_is_disconnected(tcp: TcpPair) -> None:
    ping = b'{"version":"v1","id":"%d","method":"ping","params":{"pad":"' + b"p" * 60_000 + b'"}}\n'

    async def send(w: asyncio.StreamWriter) -> None:
        w.write(HS)
        for i in range(2000):  # ~120 MB of pings whose answers we never read
            w.write(ping.replace(b"%d", str(i).encode()))
            await w.drain()

    (cr, cw), (sr, sw) = await tcp.open()
    endpoint = Connection(sr, sw, Role.ENDPOINT, handler=echo_handler, max_write_buffer=256 << 10)
    task = asyncio.create_task(endpoint.run())
    with suppress(OSError):
        await send(cw)
    reason = await asyncio.wait_for(task, 30)
    assert "not reading" in reason
    cw.close()
    del cr



@pytest.mark.parametrize("dribble", [False, True])
async def test_a_peer_that_never_handshakes_is_dropped(tcp: TcpPair, dribble: bool) -> None:
    (cr, cw), (sr, sw) = await tcp.open()
    endpoint = Connection(sr, sw, Role.ENDPOINT, idle_interval=0.1)
    run = asyncio.create_task(endpoint.run())
    if dribble:  # a byte at a time, never a whole line: traffic, but no handshake
        for byte in b'{"version":"v1","id":"h","meth':
            cw.write(bytes([byte]))
            await cw.drain()
            if run.done():
                break
            await asyncio.sleep(0.01)
    assert "no handshake" in await asyncio.wait_for(run, 10)
    assert await cr.read() == b""  # and nothing was ever sent to it
    cw.close()
