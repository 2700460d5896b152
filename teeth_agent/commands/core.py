"""Core commands every agent answers: `ping` and `status`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from teeth_agent.backend.types import Inventory
from teeth_agent.commands.registry import error_payload
from teeth_agent.tasks.spec import AgentIdentity, CommandSpec, JsonObject, StatusSources

log = logging.getLogger(__name__)

INVENTORY_TIMEOUT = 20.0


def hardware_summary(inv: Inventory) -> JsonObject:
    return {
        "system": {
            "manufacturer": inv.dmi.manufacturer,
            "product": inv.dmi.product,
            "serial": inv.dmi.serial,
        },
        "cpu": {"model": inv.cpu.model, "cores": inv.cpu.cores, "threads": inv.cpu.threads},
        "memory_mib": inv.memory_mib,
        "disks": [
            {"path": d.path, "size": d.size, "model": d.model, "serial": d.serial, "transport": d.transport}
            for d in inv.disks
        ],
        "nics": [{"name": n.name, "mac": n.mac, "link": n.link} for n in inv.nics],
        "boot_mode": str(inv.boot_mode),
        "secure_boot": inv.secure_boot,
        "lockdown": inv.lockdown,
        "network": dict(inv.network) if inv.network is not None else None,
    }


def core_commands(info: AgentIdentity, sources: StatusSources) -> tuple[CommandSpec, ...]:
    async def ping(params: Mapping[str, Any]) -> JsonObject:
        return dict(params)

    async def status(params: Mapping[str, Any]) -> JsonObject:
        return {
            "version": info.agent_version,
            "uptime": round(sources.uptime(), 3),
            "boot_id": info.boot_id,
            "agent_id": info.agent_id,
            "backend": info.backend,
            "tasks": sources.tasks(),
            "hardware": await _hardware(sources.inventory),
        }

    return (CommandSpec("ping", ping), CommandSpec("status", status))


async def _hardware(inventory: Callable[[], Awaitable[Inventory]]) -> JsonObject:
    # A status answer must come back even when inventory is slow or broken: say why instead.
    try:
        async with asyncio.timeout(INVENTORY_TIMEOUT):
            return hardware_summary(await inventory())
    except Exception as exc:
        log.warning("inventory for status failed: %s", exc)
        return {"error": error_payload(exc)}
