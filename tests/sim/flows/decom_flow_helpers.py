"""Helpers for the decommission flow tests on the simulator (a uniquely named module, imported directly).

Flows run exactly as the agent runs them — TaskSpec.validate then TaskSpec.run — with a TaskContext built
here instead of by the runner; progress lands in a list.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from simulator.fleet.image_server import ImageServer
from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import Fault
from simulator.machine.image_format import firmware_image
from teeth_agent.commands.decom import TASKS
from teeth_agent.tasks.context import TaskContext

# Fast enough that a 12-hour ATA erase takes ~0.4 s of wall time, slow enough that the flows' own CPU time
# stays small next to simulated hardware time.
SPEED = 1e5
SPECS = {t.method: t for t in TASKS}


def sim(profile: str, *faults: Fault) -> SimBackend:
    return make_backend(profile, seed=1, clock=SimClock(speed=SPEED), faults=faults)


def context(backend: SimBackend, method: str, progress: list[tuple[float, float]]) -> TaskContext:
    return TaskContext(
        task_id="task-1",
        method=method,
        backend=backend,
        progress=lambda done, total: progress.append((done, total)),
        log=logging.LoggerAdapter(logging.getLogger("flow"), {"task_id": "task-1"}),
        state_dir=Path("/nonexistent"),
    )


async def run(
    backend: SimBackend,
    method: str,
    params: dict[str, Any],
    progress: list[tuple[float, float]] | None = None,
) -> Any:
    spec = SPECS[method]
    parsed = spec.validate(params)
    return await spec.run(context(backend, method, [] if progress is None else progress), parsed)


def by_path(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["device"]["path"]: c for c in result["certificates"]}


@asynccontextmanager
async def firmware_server(images: dict[str, tuple[str, str]]) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Serve simulator firmware images on 127.0.0.1: name -> (component, version).

    Yields name -> the manifest `image` object ({"urls", "hashes"}) for that image."""
    server = ImageServer()
    refs = {}
    for name, (component, version) in images.items():
        digest = server.add_blob(name, firmware_image(component, version))
        refs[name] = {"hashes": {"sha256": digest}}
    await server.start()
    try:
        for name in refs:
            refs[name]["urls"] = [server.url("agent", name)]
        yield refs
    finally:
        await server.close()
