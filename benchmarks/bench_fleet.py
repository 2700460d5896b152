"""Fleet simulation: N machines (1,000; 50 with --quick) through the demo scenario — decommission then
standby, faults included — each a real agent talking to the reference endpoint over 127.0.0.1, on the
simulated clock, in one process. Measured: wall time and peak RSS of that process.

Baseline, same run: the same fleet with no steps (agents boot, handshake and idle) — the cost of the
fleet itself, so the figure shows what the flows add. The fleet runs in a child process (`teeth-sim
demo --plain`) so its peak RSS is its own; the child's JSON report supplies the outcome counts.
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

from benchmarks.figure import Figure

GOAL_WALL = 60.0
GOAL_RSS_MIB = 2048.0
IDLE_SCENARIO = """
[fleet]
machines = 1
profiles = ["1u-nvme", "vm", "old-sas", "storage-12sata"]
speed = 20000
resolution = 0.1
timeout = 600
step_timeout = 600
"""


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float  # user + system seconds of the child: what the fleet costs, whatever else the host runs
    rss_mib: float
    report: dict[str, object]


def _run_fleet(machines: int, scenario: Path | None, workdir: Path) -> Run:
    """One `teeth-sim demo` child process, measured."""
    report = workdir / f"report-{machines}-{scenario.stem if scenario else 'demo'}.json"
    argv = [sys.executable, "-m", "simulator.cli", "demo", "--plain", "--machines", str(machines),
            "--report", str(report), "--timeout", "900"]
    if scenario is not None:
        argv += ["--scenario", str(scenario)]
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"teeth-sim demo exited {proc.returncode}: {err[-500:]}")
    rss_mib = usage.ru_maxrss / 1024  # Linux reports KiB
    return Run(wall, usage.ru_utime + usage.ru_stime, rss_mib, json.loads(report.read_text()))


def run(quick: bool) -> list[Figure]:
    machines = 50 if quick else 1000
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        idle = work / "idle.toml"
        idle.write_text(IDLE_SCENARIO)
        base = _run_fleet(machines, idle, work)
        full = _run_fleet(machines, None, work)
    totals = full.report["totals"]
    sim_seconds = full.report["sim_seconds"]
    assert isinstance(totals, dict) and isinstance(sim_seconds, int | float)
    note = (f"{machines} machines, {totals['ok']} ok, {totals['failed']} failed (faults injected), "
            f"{totals['tenants_running']} tenants booted; {sim_seconds / 3600:.0f} h simulated "
            f"hardware time; baseline = the same fleet only booting and handshaking")
    return [
        Figure(f"fleet simulation: {machines} machines, decom + standby (wall)", full.wall, "s", base.wall,
               "idle fleet", f"< {GOAL_WALL:.0f} s", full.wall < GOAL_WALL if not quick else None, note),
        Figure(f"fleet simulation: {machines} machines (CPU, one process)", full.cpu, "s", base.cpu,
               "idle fleet", note="user + system seconds; the wall figure also depends on the host's load"),
        Figure(f"fleet simulation: {machines} machines (peak RSS)", full.rss_mib, "MiB", base.rss_mib,
               "idle fleet", f"< {GOAL_RSS_MIB:.0f} MiB", full.rss_mib < GOAL_RSS_MIB if not quick else None),
    ]

