"""Delete the UEFI boot entries earlier tenants left (planned by `efibootmgr.stale_entries`)."""

from __future__ import annotations

from teeth_agent.backend.linux.efibootmgr import parse_efibootmgr, stale_entries
from teeth_agent.backend.linux.exec import Runner

TOOL_TIMEOUT = 60.0


async def remove_stale_entries(runner: Runner, keep_label: str) -> tuple[str, ...]:
    """The `BootXXXX (label)` names removed; the firmware's own entries and ours stay."""
    listing = await runner.run(["efibootmgr", "-v"], timeout=TOOL_TIMEOUT)
    removed = []
    for entry in stale_entries(parse_efibootmgr(listing.stdout), keep_label):
        await runner.run(["efibootmgr", "--bootnum", entry.number, "--delete-bootnum"], timeout=TOOL_TIMEOUT)
        removed.append(f"Boot{entry.number} ({entry.label})")
    return tuple(removed)
