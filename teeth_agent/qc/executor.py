"""decom.qc: inventory the machine, check it against the spec, optionally burn in; one verdict.

The task completes with `passed` (every check passed), `checks`, `failed` (the names of failing checks)
and the `inventory` it judged — a mismatch is a result, not an error.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from teeth_agent.backend.types import FirmwareComponent, Inventory
from teeth_agent.qc.burnin import burn_in
from teeth_agent.qc.checks import installed_disks, run_checks
from teeth_agent.qc.spec import QcParams
from teeth_agent.tasks.context import TaskContext


def inventory_json(inv: Inventory, components: tuple[FirmwareComponent, ...]) -> dict[str, Any]:
    out = dataclasses.asdict(inv)
    out["firmware"] = [dataclasses.asdict(c) for c in components]
    return out


async def run_qc(ctx: TaskContext, params: QcParams) -> dict[str, Any]:
    backend = ctx.backend
    inv = await backend.inventory()
    components = await backend.firmware_components()
    checks = run_checks(inv, components, params.spec)
    if params.burnin is not None:
        seed = int.from_bytes(os.urandom(8), "big")
        checks += await burn_in(backend, installed_disks(inv), params.burnin, ctx.progress, seed)
    failed = [c.name for c in checks if not c.passed]
    for name in failed:
        ctx.log.warning("qc check failed: %s", name)
    return {
        "passed": not failed,
        "checks": [c.to_json() for c in checks],
        "failed": failed,
        "inventory": inventory_json(inv, components),
    }
