"""A reference endpoint in its own process, driven over stdin/stdout (JSON lines), so a test can kill it.

    python endpoint_driver.py [--token T] [--tls CERT KEY CA] URL [TASK_ID ...]

Prints {"event": "listening", "url": ...} once ready; then every log record as {"event": "log", ...} and
every status the endpoint *publishes* for the watched TASK_IDs as {"event": "task", "status": ...} — a
duplicate the endpoint dropped by seq is never published, so counting these counts deliveries.
Requests on stdin: {"id": N, "op": "wait_for_agent" | "call" | "run_task", ...}; each is answered with
{"id": N, "result": ...} or {"id": N, "error": {"type", "msg"}}; run_task progress as {"event": "progress"}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

from teeth_agent.connection import CommandFailed
from teeth_endpoint.api import Endpoint
from teeth_endpoint.server import server_tls_context


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def handle(ep: Endpoint, req: dict[str, Any]) -> None:
    rid, op = req.get("id"), req.get("op")
    try:
        if op == "wait_for_agent":
            result: Any = (await ep.wait_for_agent(req.get("agent_id"), timeout=60)).to_json()
        elif op == "agents":
            result = [a.to_json() for a in ep.agents()]
        elif op == "call":
            result = await ep.call(req["agent_id"], req["method"], req.get("params"))
        elif op == "run_task":
            result = await ep.run_task(
                req["agent_id"], req["method"], req.get("params"),
                on_progress=lambda s: emit({"event": "progress", "id": rid, "status": s}), timeout=120,
            )  # fmt: skip
        else:
            raise ValueError(f"unknown op {op!r}")
        emit({"id": rid, "result": result})
    except CommandFailed as exc:
        emit({"id": rid, "error": {"type": exc.error.type, "msg": exc.error.msg}})
    except Exception as exc:
        emit({"id": rid, "error": {"type": type(exc).__name__, "msg": str(exc)}})


async def forward_logs(ep: Endpoint) -> None:
    async for record in ep.logs():
        emit({"event": "log", **record.to_json()})


async def watch(ep: Endpoint, task_id: str) -> None:
    with ep.server.hub.watch_task(task_id) as feed:
        while True:
            view = await feed.get()
            emit({"event": "task", "status": view.status})


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    tls = server_tls_context(*args.tls) if args.tls else None
    async with Endpoint(heartbeat_interval=5.0, token=args.token) as ep, asyncio.TaskGroup() as tg:
        for task_id in args.watched:
            tg.create_task(watch(ep, task_id))
        tg.create_task(forward_logs(ep))
        emit({"event": "listening", "url": await ep.listen(args.url, tls)})
        while line := await reader.readline():
            tg.create_task(handle(ep, json.loads(line)))
        raise SystemExit(0)  # stdin closed: the test is done with us


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    parser.add_argument("--tls", nargs=3, metavar=("CERT", "KEY", "CA"))
    parser.add_argument("url")
    parser.add_argument("watched", nargs="*")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
