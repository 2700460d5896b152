"""decom.firmware_secure: inventory, plan, fetch+verify, flash, settings, Secure Boot; one report.

Order matters: firmware first, then settings (a BIOS flash may reset them), then Secure Boot. The result:
    {"passed", "reboot_required", "components": [{id, before, target, after, outcome, ...}],
     "not_present": [...], "settings": [...], "secure_boot": {before, target, after, outcome, message}}
Secure Boot's state is always reported; with `secure_boot: null` its outcome is "unmanaged".
`passed` is false when any component, setting or Secure Boot request ended failed or unsupported:
the machine is then not in the pinned state, whatever the reason.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from teeth_agent.firmware.apply import DONE, apply_secure_boot, apply_settings, update_components
from teeth_agent.firmware.fetch import Fetch, fetch_image
from teeth_agent.firmware.manifest import Manifest
from teeth_agent.firmware.plan import FirmwarePlan, plan_firmware
from teeth_agent.tasks.context import TaskContext


async def _plan(ctx: TaskContext, manifest: Manifest) -> FirmwarePlan:
    backend = ctx.backend
    components = await backend.firmware_components()
    settings = await backend.bios_settings() if manifest.settings else {}
    secure = await backend.secure_boot()
    return plan_firmware(components, manifest, settings, secure)


async def secure_firmware(
    ctx: TaskContext, manifest: Manifest, fetch: Fetch, workdir: Path
) -> dict[str, Any]:
    plan = await _plan(ctx, manifest)
    for a in plan.components:
        if a.kind in ("update", "unsupported"):
            ctx.log.info(
                "%s: %s %s -> %s", a.component.id, a.kind, a.component.version, a.entry and a.entry.version
            )
    components = await update_components(ctx.backend, plan, fetch, workdir, ctx.progress)
    settings, settings_reboot = await apply_settings(ctx.backend, plan)
    secure, secure_reboot = await apply_secure_boot(ctx.backend, plan)
    outcomes = [c["outcome"] for c in components] + [s["outcome"] for s in settings]
    outcomes.append(secure["outcome"])
    return {
        "passed": all(o in DONE for o in outcomes),
        "reboot_required": settings_reboot or secure_reboot or any(c["reboot_required"] for c in components),
        "components": components,
        "not_present": [
            {"component": e.component, "vendor": e.vendor, "model": e.model, "version": e.version}
            for e in plan.not_present
        ],
        "settings": settings,
        "secure_boot": secure,
    }


async def run_firmware(ctx: TaskContext, manifest: Manifest) -> dict[str, Any]:
    # Images land on the ramdisk's tmpfs, never on a disk being decommissioned; removed when done.
    with tempfile.TemporaryDirectory(prefix="teeth-fw-") as tmp:
        return await secure_firmware(ctx, manifest, fetch_image, Path(tmp))
