"""`teeth-sim demo`: the reference endpoint + a fleet of real agents on simulated machines, one process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.live import Live

from simulator.fleet.real_agents import RealAgents, reference_endpoint
from simulator.fleet.report import MachineRecord, to_json
from simulator.fleet.runner import SimFleet
from simulator.fleet.scenario import Scenario
from simulator.fleet.view import failures_table, live_view, summary_table, totals_text


class TranscriptWriter:
    """Every protocol line of the run as JSON lines: {"t", "machine", "dir", "msg"}."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._t0 = time.monotonic()

    def __call__(self, machine: str, direction: str, line: bytes) -> None:
        try:
            msg: Any = json.loads(line)
        except ValueError:
            msg = line.decode(errors="replace")
        entry = {"t": round(time.monotonic() - self._t0, 4), "machine": machine, "dir": direction, "msg": msg}
        self._stream.write(json.dumps(entry, sort_keys=True) + "\n")


async def _refresh(live: Live, fleet: SimFleet, wall0: float) -> None:
    while True:
        live.update(live_view(fleet.records, sim_seconds=fleet.clock.elapsed(),
                              wall_seconds=time.monotonic() - wall0))
        await asyncio.sleep(0.25)


async def _run(fleet: SimFleet, console: Console, live: bool) -> list[MachineRecord]:
    if not live:
        return await fleet.run()
    wall0 = time.monotonic()
    with Live(console=console, refresh_per_second=4, transient=True) as view:
        refresher = asyncio.create_task(_refresh(view, fleet, wall0))
        try:
            return await fleet.run()
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher


async def run_demo(scenario: Scenario, *, record: Path | None = None, live: bool = True,
                   console: Console | None = None) -> dict[str, Any]:
    console = console or Console()
    wall0 = time.monotonic()
    with contextlib.ExitStack() as stack:
        # The machines' "local storage" for agent state: RAM-backed where possible (the agents fsync it).
        shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: ASYNC240 (once, at start-up)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="teeth-sim-", dir=shm)))
        recorder = TranscriptWriter(stack.enter_context(record.open("w"))) if record else None
        async with reference_endpoint() as (endpoint, port):
            fleet = SimFleet(scenario, endpoint=endpoint, endpoint_port=port, agent_factory=RealAgents(),
                          workdir=tmp, record=recorder)
            records = await _run(fleet, console, live)
            sim_seconds = fleet.clock.elapsed()
    wall = time.monotonic() - wall0
    console.print(summary_table(records))
    failures = failures_table(records)
    if failures is not None:
        console.print(failures)
    console.print(totals_text(records))
    console.print(f"simulated {sim_seconds / 3600:.1f} h of hardware time in {wall:.1f} s of wall time")
    meta = {"scenario": scenario.file, "seed": scenario.seed, "speed": scenario.speed,
            "profiles": list(scenario.profiles), "steps": [s.method for s in scenario.steps],
            "wall_seconds": round(wall, 3), "sim_seconds": round(sim_seconds, 1)}
    return to_json(records, meta)
