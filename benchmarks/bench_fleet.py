"""Fleet simulation: N machines (1,000; 50 with --quick) through the demo scenario — decommission then
standby, faults included — each a real agent talking to the reference endpoint over 127.0.0.1, on the
simulated clock. Measured: wall time, CPU seconds and peak RSS.

Two ways, same run: one process holding the whole fleet (`teeth-sim demo --plain`), and the fleet split
into one shard per CPU (each shard its own process and endpoint, different seeds), since one Python
process uses one core. Baseline: the same fleet with no steps (agents boot, handshake and idle) — the cost
of the fleet itself. Children are measured with wait4, so each RSS is the child's own; a sharded run's
RSS is the sum of its shards' peaks (an upper bound: they need not peak together).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.figure import Figure

GOAL_WALL = 60.0
GOAL_RSS_MIB = 2048.0
IDLE_SCENARIO = """
[fleet]
machines = 1
profiles = ["1u-nvme", "vm", "old-sas", "storage-12sata"]
speed = 20000
timeout = 900
step_timeout = 900
"""


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the children: what the fleet costs, whatever else the host runs
    rss_mib: float
    totals: dict[str, Any]
    sim_seconds: float


def _run_fleet(machines: int, scenario: Path | None, workdir: Path, shards: int = 1) -> Run:
    """`shards` concurrent `teeth-sim demo` children sharing `machines` between them, measured."""
    start = time.monotonic()
    procs = []
    for shard in range(shards):
        count = machines // shards + (1 if shard < machines % shards else 0)
        report = workdir / f"report-{machines}-{shards}-{shard}-{scenario.stem if scenario else 'demo'}.json"
        argv = [sys.executable, "-m", "simulator.cli", "demo", "--plain", "--machines", str(count),
                "--seed", str(shard), "--report", str(report), "--timeout", "900"]
        if scenario is not None:
            argv += ["--scenario", str(scenario)]
        procs.append((subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True),
                      report))
    cpu = rss = 0.0
    reports = []
    for proc, report in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"teeth-sim demo exited {proc.returncode}: {err[-500:]}")
        cpu += usage.ru_utime + usage.ru_stime
        rss += usage.ru_maxrss / 1024  # Linux reports KiB
        reports.append(json.loads(report.read_text()))
    wall = time.monotonic() - start
    keys = ("machines", "ok", "failed", "tenants_running")
    totals = {k: sum(r["totals"][k] for r in reports) for k in keys}
    return Run(wall, cpu, rss, totals, max(r["sim_seconds"] for r in reports))


def _figures(label: str, full: Run, base: Run, quick: bool) -> list[Figure]:
    t = full.totals
    note = (f"{t['machines']} machines, {t['ok']} ok, {t['failed']} failed (faults injected), "
            f"{t['tenants_running']} tenants booted; {full.sim_seconds / 3600:.0f} h of simulated hardware "
            f"time; CPU = user + system seconds; baseline = the same fleet only booting and handshaking")
    return [
        Figure(f"{label} (wall)", full.wall, "s", base.wall, "idle fleet", f"< {GOAL_WALL:.0f} s",
               full.wall < GOAL_WALL if not quick else None, note),
        Figure(f"{label} (CPU)", full.cpu, "s", base.cpu, "idle fleet"),
        Figure(f"{label} (peak RSS)", full.rss_mib, "MiB", base.rss_mib, "idle fleet",
               f"< {GOAL_RSS_MIB:.0f} MiB", full.rss_mib < GOAL_RSS_MIB if not quick else None),
    ]


def run(quick: bool) -> list[Figure]:
    machines = 50 if quick else 1000
    shards = max(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        idle = work / "idle.toml"
        idle.write_text(IDLE_SCENARIO)
        one = _figures(f"fleet: {machines} machines, decom + standby, one process",
                       _run_fleet(machines, None, work), _run_fleet(machines, idle, work), quick)
        split = _figures(f"fleet: {machines} machines, decom + standby, {shards} processes",
                         _run_fleet(machines, None, work, shards), _run_fleet(machines, idle, work, shards),
                         quick)
    return one + split
