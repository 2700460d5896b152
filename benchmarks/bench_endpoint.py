"""Endpoint scale: N agents connected to the reference endpoint, handshake + keepalive + task_status.

The endpoint runs in its own process (benchmarks/endpoint_proc.py); the N lightweight clients run in this
one (benchmarks/endpoint_load.py), all on 127.0.0.1. After every client has handshaken, each pings every
--ping-interval seconds and sends a task_status every --status-interval seconds for --seconds; we report
how many connected, the responses per second, and p50/p99 ping latency. Baseline, same run, same load: a
bare asyncio echo server (json in, json out, no protocol core). The two alternate for --rounds rounds and
the median round is reported, so background load on a shared machine hits both alike.
Goal: 10,000 agents, p99 ping < 50 ms.

    python -m benchmarks --only bench_endpoint --agents 10000 [--rounds 3 --seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.endpoint_load import Stats, connect_all, drive
from benchmarks.endpoint_proc import raise_fd_limit
from benchmarks.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
GOAL_AGENTS = 10_000
GOAL_P99_MS = 50.0


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--agents", type=int, default=None, help="clients (default 10000; 300 with --quick)")
    group.add_argument("--seconds", type=float, default=None,
                       help="load phase of each round (default 15; 3 with --quick)")
    group.add_argument("--rounds", type=int, default=None,
                       help="rounds of each server, alternating (default 3; 1 with --quick)")
    group.add_argument("--ping-interval", type=float, default=10.0,
                       help="seconds between one agent's pings (default 10: twice the 20 s keepalive's rate)")
    group.add_argument("--status-interval", type=float, default=5.0,
                       help="seconds between one agent's task_status (default 5; agents: at least every 10)")


@dataclass(frozen=True)
class Result:
    connected: int
    connect_seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_rss_mib: float
    server_cpu: float  # fraction of one core the server used during the load phase
    client_cpu: float  # the same for this process, which plays every agent
    status_p99_ms: float = float("nan")  # task_status sent to acknowledged


def _proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def _measure(
    mode: str, agents: int, seconds: float, ping: float, status: float, extra: tuple[str, ...] = ()
) -> Result:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.endpoint_proc", "--mode", mode, "--fds", str(agents + 1000), *extra,
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    try:
        ready = (await proc.stdout.readline()).decode()
        if not ready.startswith("READY "):
            raise RuntimeError(f"{mode} server did not start: {ready!r}")
        return await _load(proc.pid, int(ready.split()[1]), agents, seconds, ping, status)
    finally:
        proc.stdin.close()
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _load(pid: int, port: int, agents: int, seconds: float, ping: float, status: float) -> Result:
    stats = Stats()
    started = time.perf_counter()
    clients = await connect_all(port, agents, stats)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)  # let the handshake burst settle
    cpu0, own0, t0 = _proc_cpu_seconds(pid), time.process_time(), time.perf_counter()
    stats.measuring = True
    await drive(clients, seconds, ping, status)
    await asyncio.sleep(0.5)  # the last answers
    stats.measuring = False
    elapsed = time.perf_counter() - t0
    result = Result(
        connected=sum(1 for c in clients if not c.closed),
        connect_seconds=connect_seconds,
        rate=stats.responses / elapsed,
        p50_ms=_percentile(stats.latencies, 0.50) * 1000,
        p99_ms=_percentile(stats.latencies, 0.99) * 1000,
        errors=stats.errors,
        server_rss_mib=_proc_rss_mib(pid),
        server_cpu=(_proc_cpu_seconds(pid) - cpu0) / elapsed,
        client_cpu=(time.process_time() - own0) / elapsed,
        status_p99_ms=_percentile(stats.status_latencies, 0.99) * 1000,
    )
    for client in clients:
        client.close()
    return result


def _median(results: list[Result]) -> Result:
    """Per-field median; connected is the worst round's."""
    def med(name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in results))

    return Result(
        connected=min(r.connected for r in results),
        connect_seconds=med("connect_seconds"),
        rate=med("rate"),
        p50_ms=med("p50_ms"),
        p99_ms=med("p99_ms"),
        errors=sum(r.errors for r in results),
        server_rss_mib=max(r.server_rss_mib for r in results),
        server_cpu=med("server_cpu"),
        client_cpu=med("client_cpu"),
        status_p99_ms=med("status_p99_ms"),
    )


def run(quick: bool, options: argparse.Namespace | None = None) -> list[Figure]:
    agents = getattr(options, "agents", None) or (300 if quick else GOAL_AGENTS)
    seconds = getattr(options, "seconds", None) or (3.0 if quick else 15.0)
    ping = getattr(options, "ping_interval", 10.0)
    status = getattr(options, "status_interval", 5.0)
    raise_fd_limit(agents + 1000)
    rounds = getattr(options, "rounds", None) or (1 if quick else 3)
    # Alternating rounds, so that both see the same background noise on a shared machine.
    runs: dict[str, list[Result]] = {"endpoint": [], "echo": []}
    for _ in range(rounds):
        for mode, results in runs.items():
            results.append(asyncio.run(_measure(mode, agents, seconds, ping, status)))
    ours, base = _median(runs["endpoint"]), _median(runs["echo"])
    judged = agents >= GOAL_AGENTS
    load = (f"{agents} agents, ping every {ping:g} s, task_status every {status:g} s; "
            f"median of {rounds} alternating rounds of {seconds:g} s")  # fmt: skip
    return [
        Figure("endpoint scale: agents connected", ours.connected, "agents", base.connected, "asyncio echo",
               f">= {GOAL_AGENTS}", (ours.connected >= GOAL_AGENTS) if judged else None,
               f"all handshaken in {ours.connect_seconds:.1f} s (echo {base.connect_seconds:.1f} s); "
               f"endpoint RSS {ours.server_rss_mib:.0f} MiB (echo {base.server_rss_mib:.0f} MiB)"),
        Figure("endpoint scale: messages answered", ours.rate, "msgs/s", base.rate, "asyncio echo",
               note=f"{load}; endpoint used {ours.server_cpu:.0%} of a core (echo {base.server_cpu:.0%}), "
               f"the clients {ours.client_cpu:.0%}; "
               f"error responses: {ours.errors}"),
        Figure("endpoint scale: ping p50", ours.p50_ms, "ms", base.p50_ms, "asyncio echo"),
        Figure("endpoint scale: ping p99", ours.p99_ms, "ms", base.p99_ms, "asyncio echo",
               f"< {GOAL_P99_MS:g} ms", (ours.p99_ms < GOAL_P99_MS) if judged else None,
               "measured by the clients: includes their own event-loop delay"),
    ]  # fmt: skip


if __name__ == "__main__":
    from benchmarks.figure import format_table

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    add_arguments(parser.add_argument_group("endpoint"))
    args = parser.parse_args()
    print(format_table(run(args.quick, args)))
