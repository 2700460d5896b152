"""Carrying out a FirmwarePlan, and believing only what re-reading shows.

Images are fetched and verified one component at a time, flashed through `backend.apply_firmware`, then
every version is re-read. A component counts as `updated` only when the re-read version is the pinned one;
a flash that needs a reboot to take effect is `pending_reboot`; a flash that claimed success but left the
old version is `failed`. Components nothing here can update are `unsupported` — never reported as done.
Settings and Secure Boot are likewise re-read after being applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, Progress, SettingValue
from teeth_agent.backend.errors import BackendError, Unsupported
from teeth_agent.backend.types import FirmwareUpdateOutcome
from teeth_agent.errors import CommandError
from teeth_agent.firmware.fetch import Fetch, remove
from teeth_agent.firmware.plan import ComponentAction, FirmwarePlan, SettingAction, same_setting

JsonObject = dict[str, Any]
DONE = frozenset({"updated", "pending_reboot", "up_to_date", "already", "applied", "unmanaged"})


@dataclass(frozen=True)
class Flash:
    """What happened when one component was flashed (before re-reading)."""

    outcome: FirmwareUpdateOutcome | None
    error: str | None = None
    unsupported: bool = False


def _report(
    a: ComponentAction, after: str | None, outcome: str, message: str | None, reboot: bool
) -> JsonObject:
    c = a.component
    return {
        "id": c.id,
        "component": c.component,
        "vendor": c.vendor,
        "model": c.model,
        "before": c.version,
        "target": a.entry.version if a.entry else None,
        "after": after,
        "outcome": outcome,
        "message": message,
        "reboot_required": reboot,
    }


async def flash_one(
    backend: Backend, a: ComponentAction, fetch: Fetch, workdir: Path, progress: Progress
) -> Flash:
    assert a.entry is not None
    dest = workdir / (re.sub(r"[^A-Za-z0-9_.-]", "_", a.component.id) + ".img")
    try:
        path = await fetch(a.entry.image, dest)
    except (CommandError, BackendError, OSError) as exc:
        return Flash(None, f"image not usable, not flashed: {exc}")
    try:
        return Flash(await backend.apply_firmware(a.component.id, str(path), progress=progress))
    except Unsupported as exc:
        return Flash(None, str(exc), unsupported=True)
    except BackendError as exc:
        return Flash(None, f"flash failed: {exc.type}: {exc}")
    finally:
        remove(path)


def judge(a: ComponentAction, flash: Flash | None, after: str | None) -> JsonObject:
    """Turn a plan action, what the flash said, and the re-read version into the component's report."""
    if flash is None:  # nothing was attempted
        outcome = {"update": "failed", "up_to_date": "up_to_date"}.get(a.kind, a.kind)
        return _report(a, after, outcome, a.reason, False)
    target = a.entry.version if a.entry else None
    if flash.outcome is None:
        return _report(a, after, "unsupported" if flash.unsupported else "failed", flash.error, False)
    reboot = flash.outcome.reboot_required
    if after is not None and target is not None and after.strip() == target.strip():
        return _report(a, after, "updated", flash.outcome.message or None, reboot)
    if flash.outcome.applied and reboot:
        return _report(a, after, "pending_reboot", "the new version takes effect after a reboot", True)
    claimed = "reported success" if flash.outcome.applied else "was not applied"
    return _report(a, after, "failed", f"flash {claimed} but the version is still {after}", reboot)


async def update_components(
    backend: Backend, plan: FirmwarePlan, fetch: Fetch, workdir: Path, progress: Progress
) -> list[JsonObject]:
    """Flash every `update` action in turn (one at a time: never two flashes at once), then re-read."""
    todo = [a for a in plan.components if a.kind == "update"]
    flashes: dict[str, Flash] = {}
    for i, a in enumerate(todo):

        def step(done: float, total: float, i: int = i) -> None:
            progress(i + (done / total if total > 0 else 0.0), len(todo))

        flashes[a.component.id] = await flash_one(backend, a, fetch, workdir, step)
        progress(i + 1, len(todo))
    after = {c.id: c.version for c in await backend.firmware_components()} if todo else {}
    reports = []
    for a in plan.components:
        reread = after.get(a.component.id, a.component.version)
        reports.append(judge(a, flashes.get(a.component.id), reread))
    return reports


def _setting(s: SettingAction, outcome: str, after: object, message: str | None) -> JsonObject:
    return {
        "component": s.component,
        "name": s.name,
        "before": s.current,
        "target": s.target,
        "after": after,
        "outcome": outcome,
        "message": message,
    }


async def apply_settings(backend: Backend, plan: FirmwarePlan) -> tuple[list[JsonObject], bool]:
    changes = {s.name: s.target for s in plan.settings if s.kind == "set"}
    if not changes:
        return [_setting(s, s.kind, s.current, s.reason) for s in plan.settings], False
    reboot, error = False, None
    try:
        reboot = await backend.apply_bios_settings(changes)
    except BackendError as exc:
        error = f"{exc.type}: {exc}"
    now: Mapping[str, SettingValue] = await backend.bios_settings()
    out = []
    for s in plan.settings:
        value = now.get(s.name, s.current)
        if s.kind != "set":
            out.append(_setting(s, s.kind, value, s.reason))
        elif same_setting(value, s.target):
            out.append(_setting(s, "applied", value, None))
        elif error is None and reboot:
            out.append(_setting(s, "pending_reboot", value, "takes effect after a reboot"))
        else:
            out.append(_setting(s, "failed", value, error or f"re-read shows {value!r}"))
    return out, reboot and any(o["outcome"] in ("applied", "pending_reboot") for o in out)


async def apply_secure_boot(backend: Backend, plan: FirmwarePlan) -> tuple[JsonObject, bool]:
    current, wanted = plan.secure_boot
    out: JsonObject = {"before": current, "target": wanted, "after": current, "message": None}
    if wanted is None:
        return {**out, "outcome": "unmanaged"}, False
    if current is None:
        msg = "Secure Boot state is not readable here (legacy BIOS boot or no EFI variables)"
        return {**out, "outcome": "unsupported", "message": msg}, False
    if current == wanted:
        return {**out, "outcome": "already"}, False
    try:
        reboot = await backend.set_secure_boot(wanted)
    except Unsupported as exc:
        return {**out, "outcome": "unsupported", "message": str(exc)}, False
    except BackendError as exc:
        return {**out, "outcome": "failed", "message": f"{exc.type}: {exc}"}, False
    after = await backend.secure_boot()
    out["after"] = after
    if after == wanted:
        return {**out, "outcome": "applied"}, reboot
    if reboot:
        return {**out, "outcome": "pending_reboot", "message": "takes effect after a reboot"}, True
    return {**out, "outcome": "failed", "message": f"re-read shows {after}"}, False
