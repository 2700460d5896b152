"""The conformance checks: what an endpoint must do for teeth agents, each on its own links.

Each check is `async (Ctx) -> detail` and raises `CheckFailed` saying what the endpoint did wrong. They
follow docs/protocol.md: handshake; ping both ways; task_status acknowledged, duplicates (same seq)
and stale seqs acknowledged too; final statuses re-sent after a reconnect acknowledged; agent-side
protocol violations answered with fatal_error and then a close; a command failure (an unknown method) is
an error, never fatal; log records; and backpressure (a burst larger than the socket buffers, every
command answered, nothing dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from simulator.conformance.link import CheckFailed, JsonObject, RawLink, joined
from teeth_agent.protocol import Error


@dataclass(frozen=True)
class Ctx:
    url: str
    timeout: float = 10.0
    token: str | None = None
    ping_wait: float | None = None  # None: 1.5 heartbeat intervals (as the handshake said) + 5 s
    burst: int = 2000

    def agent(self, name: str) -> str:
        return f"conformance-{name}-{uuid.uuid4().hex[:8]}"


Check = Callable[[Ctx], Awaitable[str]]


async def handshake(ctx: Ctx) -> str:
    link, result = await joined(ctx.url, ctx.agent("handshake"), ctx.timeout, ctx.token)
    await link.close()
    hb = result.get("heartbeat_interval")
    if hb is not None and (isinstance(hb, bool) or not isinstance(hb, int | float) or not hb > 0):
        raise CheckFailed(f"heartbeat_interval must be a positive number of seconds, got {hb!r}")
    return f"accepted; heartbeat_interval {hb}"


async def ping_to_endpoint(ctx: Ctx) -> str:
    link, _ = await joined(ctx.url, ctx.agent("ping-out"), ctx.timeout, ctx.token)
    try:
        params = {"nonce": uuid.uuid4().hex, "n": 7}
        result = await link.call("ping", params)
        if result != params:
            raise CheckFailed(f"ping must answer its params unchanged: sent {params}, got {result}")
        return "ping answered with its params"
    finally:
        await link.close()


async def ping_from_endpoint(ctx: Ctx) -> str:
    link, result = await joined(ctx.url, ctx.agent("ping-in"), ctx.timeout, ctx.token)
    try:
        hb = result.get("heartbeat_interval")
        interval = float(hb) if isinstance(hb, int | float) and not isinstance(hb, bool) else 20.0
        wait = ctx.ping_wait if ctx.ping_wait is not None else interval * 1.5 + 5
        cmd = await link.wait_for("ping", wait)
        # The link must still be usable after our answer.
        await link.call("ping", {})
        return f"the endpoint pinged an idle agent (ping id {cmd.id}) and took the answer"
    finally:
        await link.close()


def _status(task_id: str, seq: int, state: str, **extra: object) -> JsonObject:
    return {"task_id": task_id, "method": "decom.qc", "seq": seq, "state": state, **extra}


async def task_status_ack(ctx: Ctx) -> str:
    link, _ = await joined(ctx.url, ctx.agent("status"), ctx.timeout, ctx.token)
    task = str(uuid.uuid4())
    try:
        steps = [("running seq 1", _status(task, 1, "running", percent=10.0, eta=5.0)),
                 ("the same seq 1 again (a re-send)", _status(task, 1, "running", percent=10.0, eta=5.0)),
                 ("running seq 2", _status(task, 2, "running", percent=50.0, eta=2.0)),
                 ("an older seq 1 after 2", _status(task, 1, "running", percent=10.0, eta=5.0)),
                 ("complete seq 3", _status(task, 3, "complete", result={"passed": True})),
                 ("complete seq 3 again", _status(task, 3, "complete", result={"passed": True}))]
        for what, params in steps:
            try:
                result = await link.call("task_status", params)
            except CheckFailed as exc:
                raise CheckFailed(f"task_status {what}: {exc}") from None
            if result != {}:
                raise CheckFailed(f"task_status {what} must be acknowledged with {{}}, got {result}")
        await link.call("ping", {})
        return "every status acknowledged with {}, duplicates and stale seqs included"
    finally:
        await link.close()


async def resend_after_reconnect(ctx: Ctx) -> str:
    agent, task = ctx.agent("resend"), str(uuid.uuid4())
    final = _status(task, 4, "error", error={"type": "io_error", "msg": "simulated"}, msg="simulated")
    first, _ = await joined(ctx.url, agent, ctx.timeout, ctx.token)
    first.command("task_status", final)  # the link dies before the acknowledgement is read
    await first.writer.drain()
    first.writer.transport.abort()
    second, _ = await joined(ctx.url, agent, ctx.timeout, ctx.token, tasks=[final])
    try:
        result = await second.call("task_status", final)
        if result != {}:
            raise CheckFailed(f"the re-sent final status must be acknowledged with {{}}, got {result}")
        return "same agent id reconnected, handshake listing the task, re-sent final acknowledged"
    finally:
        await second.close()


def _violation(name: str, send: Callable[[RawLink], None]) -> Check:
    async def check(ctx: Ctx) -> str:
        link, _ = await joined(ctx.url, ctx.agent("violation"), ctx.timeout, ctx.token)
        try:
            send(link)
            await link.writer.drain()
            reason = await link.fatal_then_close(ctx.timeout)
            return f"fatal_error {reason!r}, then closed"
        finally:
            await link.close()

    check.__name__ = name
    return check


async def before_handshake(ctx: Ctx) -> str:
    link = await RawLink.open(ctx.url, ctx.timeout)
    try:
        link.command("ping", {})
        await link.writer.drain()
        reason = await link.fatal_then_close(ctx.timeout)
        return f"fatal_error {reason!r}, then closed"
    finally:
        await link.close()


async def unknown_method_not_fatal(ctx: Ctx) -> str:
    link, _ = await joined(ctx.url, ctx.agent("unknown"), ctx.timeout, ctx.token)
    try:
        answer = await link.response(link.command("conformance.no_such_method", {}))
        if not isinstance(answer, Error):
            raise CheckFailed(f"an unknown method must be answered with an error, got result {answer.result}")
        if answer.error.type != "unknown_method":
            raise CheckFailed(f"an unknown method's error type must be unknown_method, "
                              f"got {answer.error.type}")
        await link.call("ping", {})
        return "error unknown_method; the link stayed up"
    finally:
        await link.close()


async def log_records(ctx: Ctx) -> str:
    link, _ = await joined(ctx.url, ctx.agent("log"), ctx.timeout, ctx.token)
    try:
        for params in ({"level": "info", "msg": "conformance", "time": 1.0, "logger": "teeth_agent"},
                       {"level": "warning", "msg": "with a task", "time": 2.0, "logger": "teeth_agent.erase",
                        "task_id": str(uuid.uuid4()), "fields": {"disk": "/dev/sda"}}):
            result = await link.call("log", params)
            if result != {}:
                raise CheckFailed(f"log must be answered with {{}}, got {result}")
        return "log records acknowledged with {}"
    finally:
        await link.close()


async def backpressure(ctx: Ctx) -> str:
    """A burst bigger than the socket buffers, written while reading: every command answered."""
    link, _ = await joined(ctx.url, ctx.agent("burst"), ctx.timeout, ctx.token)
    pad = "x" * 400
    try:
        ids: list[str] = []

        async def write() -> None:
            for i in range(ctx.burst):
                ids.append(link.command("log", {"level": "debug", "msg": f"burst {i} {pad}", "time": float(i),
                                                "logger": "conformance"}))
                if i % 64 == 0:
                    await link.writer.drain()
            await link.writer.drain()

        writer = asyncio.create_task(write())
        answered = 0
        try:
            while not writer.done() or answered < len(ids):
                if answered >= len(ids):
                    await asyncio.sleep(0)
                    continue
                answer = await link.response(ids[answered], ctx.timeout * 3)
                if isinstance(answer, Error):
                    raise CheckFailed(f"burst command {answered} answered with error {answer.error.type}")
                answered += 1
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
        await link.call("ping", {})
        return f"{answered} pipelined log commands ({answered * len(pad) // 1024} KiB) all answered"
    finally:
        await link.close()


CHECKS: tuple[tuple[str, Check], ...] = (
    ("handshake", handshake),
    ("ping agent->endpoint", ping_to_endpoint),
    ("ping endpoint->agent", ping_from_endpoint),
    ("task_status ack + seq dedupe", task_status_ack),
    ("final status re-sent after reconnect", resend_after_reconnect),
    ("violation: command before handshake", before_handshake),
    ("violation: not JSON", _violation("not_json", lambda link: link.write_raw(b"{this is not json"))),
    ("violation: unsupported version", _violation("bad_version", lambda link: link.send(
        {"version": "v0", "id": "x1", "method": "ping", "params": {}}))),
    ("violation: response to no pending id", _violation("stray_response", lambda link: link.send(
        {"version": "v1", "id": "never-sent-by-the-endpoint", "result": {}}))),
    ("violation: neither command nor response", _violation("no_kind", lambda link: link.send(
        {"version": "v1", "id": "x2"}))),
    ("unknown method is an error, not fatal", unknown_method_not_fatal),
    ("log records", log_records),
    ("backpressure (pipelined burst)", backpressure),
)
