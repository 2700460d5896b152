"""The endpoint as a control plane: durable records at fleet scale, and calls routed between instances.

1. One instance on SQLite, N agents (default 10,000) pinging every 10 s and sending task_status every 5 s,
   against the in-memory endpoint under the same load (the baseline). Every status is acknowledged only
   once written, so "status ack p99" is the durable-write latency; rows written per second counts the
   task_statuses rows that landed in the database.
2. A command round trip (`status`) through the instance holding the agent's link, against one through a
   second instance on the same PostgreSQL (a commands row, NOTIFY to the holder, the reply row, NOTIFY
   back). Goal: a cross-instance call <= 2x a local one.

    python -m benchmarks --only bench_control [--control-agents 10000 --control-seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_endpoint import GOAL_P99_MS, Result, _measure, _median
from benchmarks.endpoint_proc import raise_fd_limit
from benchmarks.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
GOAL_AGENTS = 10_000


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--control-agents", type=int, default=None, help="agents (default 10000; 300 quick)")
    group.add_argument("--control-seconds", type=float, default=None, help="load s (default 15; 3 quick)")
    group.add_argument("--control-rounds", type=int, default=None, help="rounds (default 2; 1 quick)")
    group.add_argument("--control-calls", type=int, default=None, help="round trips (default 500; 50 quick)")


def _sqlite_round(agents: int, seconds: float) -> tuple[Result, int]:
    with tempfile.TemporaryDirectory(prefix="teeth-bench-") as state:
        result = asyncio.run(_measure("sqlite", agents, seconds, 10.0, 5.0, ("--state-dir", state)))
        db = sqlite3.connect(Path(state) / "endpoint.sqlite3")
        rows = int(db.execute("SELECT count(*) FROM task_statuses").fetchone()[0])
        db.close()
    return result, rows


def scale(agents: int, seconds: float, rounds: int) -> list[Figure]:
    raise_fd_limit(agents + 1000)
    ours: list[Result] = []
    base: list[Result] = []
    rows: list[int] = []
    for _ in range(rounds):
        result, written = _sqlite_round(agents, seconds)
        ours.append(result)
        rows.append(written)
        base.append(asyncio.run(_measure("endpoint", agents, seconds, 10.0, 5.0)))
    o, b = _median(ours), _median(base)
    judged = agents >= GOAL_AGENTS
    # Rows: every status the load sent over the whole run (handshake burst and load phase) landed.
    per_s = statistics.median(rows) / (seconds + 1.5)
    load = (f"{agents} agents, ping every 10 s, task_status every 5 s; "
            f"median of {rounds} rounds of {seconds:g} s")
    return [
        Figure("control plane (SQLite): agents connected", o.connected, "agents", b.connected, "in-memory",
               f">= {GOAL_AGENTS}", (o.connected >= GOAL_AGENTS) if judged else None,
               f"RSS {o.server_rss_mib:.0f} MiB (in-memory {b.server_rss_mib:.0f} MiB); "
               f"server CPU {o.server_cpu:.0%} of a core (in-memory {b.server_cpu:.0%})"),
        Figure("control plane (SQLite): ping p99", o.p99_ms, "ms", b.p99_ms, "in-memory endpoint",
               f"< {GOAL_P99_MS:g} ms", (o.p99_ms < GOAL_P99_MS) if judged else None, load),
        Figure("control plane (SQLite): task_status ack p99", o.status_p99_ms, "ms", b.status_p99_ms,
               "in-memory endpoint (not durable)", note="acknowledged only after the batch committed "
               "(synchronous=FULL)"),
        Figure("control plane (SQLite): status rows written", per_s, "rows/s",
               note=f"task_statuses rows in the database / run time; error responses {o.errors}"),
    ]  # fmt: skip


async def _round_trips(calls: int) -> tuple[list[float], list[float]]:
    sys.path.insert(0, str(ROOT / "tests" / "endpoint_store"))
    from pg_server import PgServer  # the tests' throwaway PostgreSQL (unix socket, unprivileged user)

    from teeth_agent.connection import Connection
    from teeth_agent.protocol import Command, JsonObject, Role
    from teeth_endpoint.api import Endpoint
    from teeth_endpoint.plane import ControlPlane
    from teeth_endpoint.store import open_store

    pg = PgServer()
    pg.start()
    try:
        url = pg.new_database()
        stores = [await open_store(url=url) for _ in range(2)]
        async with Endpoint() as ep_a, Endpoint() as ep_b:
            link = await ep_a.listen("tcp://127.0.0.1:0")
            async with ControlPlane(ep_a, stores[0]) as a, ControlPlane(ep_b, stores[1]) as b:
                host, port = link.removeprefix("tcp://").rsplit(":", 1)
                reader, writer = await asyncio.open_connection(host, int(port))

                def answer(cmd: Command) -> JsonObject:
                    return {"agent_id": "bench-1", "method": cmd.method}

                conn = Connection(reader, writer, Role.AGENT, handler=answer)
                runner = asyncio.create_task(conn.run())
                await conn.call("handshake", {"agent_id": "bench-1", "boot_id": "b", "methods": ["status"]})
                await a.store.holder("bench-1")  # the handshake's link row is written in its batch
                while await stores[1].holder("bench-1") is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                local, remote = [], []
                for _ in range(calls):
                    t0 = time.perf_counter()
                    await a.call("bench-1", "ping.bench")
                    local.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    await b.call("bench-1", "ping.bench")
                    remote.append(time.perf_counter() - t0)
                await conn.close()
                await runner
        for store in stores:
            await store.close()
    finally:
        pg.remove()
    return local, remote


def routing(calls: int) -> list[Figure]:
    if not Path("/usr/lib/postgresql/15/bin/initdb").exists():
        return [Figure("control plane: cross-instance call", float("nan"), "ms", note="no PostgreSQL here")]
    local, remote = asyncio.run(_round_trips(calls))
    lp50, rp50 = statistics.median(local) * 1000, statistics.median(remote) * 1000
    ratio = rp50 / lp50
    return [
        Figure("control plane: call round trip, cross-instance p50", rp50, "ms", lp50, "same instance",
               "<= 2x same instance", ratio <= 2.0,
               f"{calls} calls each, alternating; two instances on one PostgreSQL 15 (unix socket)"),
    ]  # fmt: skip


def run(quick: bool, options: argparse.Namespace | None = None) -> list[Figure]:
    agents = getattr(options, "control_agents", None) or (300 if quick else GOAL_AGENTS)
    seconds = getattr(options, "control_seconds", None) or (3.0 if quick else 15.0)
    rounds = getattr(options, "control_rounds", None) or (1 if quick else 2)
    calls = getattr(options, "control_calls", None) or (50 if quick else 500)
    return scale(agents, seconds, rounds) + routing(calls)


if __name__ == "__main__":
    from benchmarks.figure import format_table

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    add_arguments(parser.add_argument_group("control"))
    print(format_table(run(parser.parse_args().quick, parser.parse_args())))
