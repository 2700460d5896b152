"""A big fleet as one process per CPU: one Python process drives about one core (see bench_fleet.py).

The parent starts K children, each `teeth-sim fleet ... --shard i/K` holding a contiguous slice of the
indices (so identities do not depend on K), and each with its own control socket; `teeth-sim machines`
and `fault` ask every socket. The parent shows the table over the children's sockets and passes SIGINT
or SIGTERM on, then waits for every child.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from simulator.openfleet.control import ask
from simulator.openfleet.view import changes, summary, table


def shard_range(spec: str, machines: int) -> range:
    i_text, _, k_text = spec.partition("/")
    i, k = int(i_text), int(k_text)
    if not 0 <= i < k:
        raise ValueError(f"--shard {spec}: expected i/K with 0 <= i < K")
    return range(machines * i // k, machines * (i + 1) // k)


def _child_argv(argv: list[str], shard: int, shards: int) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--shards", "--shard"):
            skip = True
            continue
        if a.startswith(("--shards=", "--shard=")):
            continue
        out.append(a)
    return [sys.executable, "-m", "simulator.cli", *out, "--shard", f"{shard}/{shards}"]


async def _snapshots(sockets: list[Path]) -> list[dict[str, Any]]:
    machines: list[dict[str, Any]] = []
    for path in sockets:
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            answer = await ask(path, {"op": "machines"})
            machines.extend(answer.get("result") or [])
    return machines


async def _watch(procs: list[subprocess.Popen[bytes]], control_dir: Path, plain: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sockets = [control_dir / f"fleet-{p.pid}.sock" for p in procs]
    seen: dict[str, dict[str, Any]] = {}
    live = None
    if not plain:
        from rich.live import Live

        live = Live(refresh_per_second=1)
        live.start()
    try:
        while not stop.is_set() and all(p.poll() is None for p in procs):
            snap = await _snapshots(sockets)
            if live is not None:
                live.update(table(snap))
            else:
                for line in changes(seen, snap):
                    print(line, flush=True)
            seen = {m["machine"]: m for m in snap}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        if live is not None:
            live.stop()
    print("teeth-sim fleet: stopping; " + summary(list(seen.values())), flush=True)


def run_sharded(argv: list[str], shards: int, control_dir: Path, plain: bool) -> int:
    procs = [subprocess.Popen(_child_argv(argv, i, shards)) for i in range(shards)]
    print(f"teeth-sim fleet: {shards} shard processes ({', '.join(str(p.pid) for p in procs)})", flush=True)
    try:
        asyncio.run(_watch(procs, control_dir, plain))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait() for p in procs]
    return max(codes) if any(codes) else 0
