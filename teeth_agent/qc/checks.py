"""Pure QC: an Inventory (+ firmware components) against a QcSpec -> one check per component.

Each check is {name, expected, actual, passed}; its name says which component failed ("cpu.model",
"disks[1]", "firmware.nvme0"). Matching rules, chosen to survive vendor spelling:
- strings compare case-insensitively with whitespace collapsed; the CPU model may be a substring of the
  reported one, with (R)/(TM) marks ignored ("Xeon Gold 6248" matches "Intel(R) Xeon(R) Gold 6248 CPU").
- disks: each installed disk (removable media and the boot medium excluded) is assigned to the first
  spec entry with its type and a size within tolerance; every entry must get exactly its count, and disks
  no entry claims fail "disks.unexpected".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.types import BlockDevice, FirmwareComponent, Inventory, Transport
from teeth_agent.qc.spec import DiskSpec, QcSpec


@dataclass(frozen=True)
class Check:
    name: str
    expected: Any
    actual: Any
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "expected": self.expected, "actual": self.actual, "passed": self.passed}


def norm(text: str | None) -> str:
    cleaned = re.sub(r"\((r|tm)\)|®|™", " ", (text or "").casefold())
    return " ".join(cleaned.split())


def disk_type(dev: BlockDevice) -> str:
    if dev.transport is Transport.NVME:
        return "nvme"
    if dev.transport is Transport.VIRTIO:
        return "virtio"
    return "hdd" if dev.rotational else "ssd"


def installed_disks(inv: Inventory) -> tuple[BlockDevice, ...]:
    """The chassis' own disks: not removable media, not the boot medium, not loop devices."""
    return tuple(
        d for d in inv.disks if not (d.removable or d.is_boot_medium or d.transport is Transport.LOOP)
    )


def _equal(name: str, expected: Any, actual: Any) -> Check:
    if isinstance(expected, str):
        return Check(name, expected, actual, norm(expected) == norm(actual))
    return Check(name, expected, actual, expected == actual)


def _system_cpu_memory(inv: Inventory, spec: QcSpec) -> list[Check]:
    out: list[Check] = []
    if spec.manufacturer is not None:
        out.append(_equal("system.manufacturer", spec.manufacturer, inv.dmi.manufacturer))
    if spec.product is not None:
        out.append(_equal("system.product", spec.product, inv.dmi.product))
    if spec.cpu_model is not None:
        ok = norm(spec.cpu_model) in norm(inv.cpu.model)
        out.append(Check("cpu.model", spec.cpu_model, inv.cpu.model, bool(norm(spec.cpu_model)) and ok))
    for name, want, have in (
        ("cpu.count", spec.cpu_count, inv.cpu.sockets),
        ("cpu.cores", spec.cpu_cores, inv.cpu.cores),
        ("cpu.threads", spec.cpu_threads, inv.cpu.threads),
    ):
        if want is not None:
            out.append(_equal(name, want, have))
    if spec.memory_min is not None or spec.memory_max is not None:
        low, high = spec.memory_min or 0, spec.memory_max
        ok = inv.memory_mib >= low and (high is None or inv.memory_mib <= high)
        expected = {"min": spec.memory_min, "max": spec.memory_max}
        out.append(Check("memory_mib", expected, inv.memory_mib, ok))
    return out


def _fits(dev: BlockDevice, want: DiskSpec) -> bool:
    slack = want.size_bytes * want.tolerance_percent / 100
    return disk_type(dev) == want.type and abs(dev.size - want.size_bytes) <= slack


def _disks(inv: Inventory, wants: Sequence[DiskSpec]) -> list[Check]:
    claimed: list[list[str]] = [[] for _ in wants]
    unclaimed: list[str] = []
    for dev in installed_disks(inv):
        slot = next((i for i, w in enumerate(wants) if _fits(dev, w) and len(claimed[i]) < w.count), None)
        if slot is None:
            unclaimed.append(f"{dev.path} ({disk_type(dev)}, {dev.size} bytes)")
        else:
            claimed[slot].append(dev.path)
    out = []
    for i, (want, paths) in enumerate(zip(wants, claimed, strict=True)):
        expected = {"type": want.type, "size_bytes": want.size_bytes, "count": want.count}
        out.append(
            Check(f"disks[{i}]", expected, {"count": len(paths), "devices": paths}, len(paths) == want.count)
        )
    out.append(Check("disks.unexpected", [], unclaimed, not unclaimed))
    return out


def _nics(inv: Inventory, spec: QcSpec) -> list[Check]:
    out: list[Check] = []
    if spec.nic_count is not None:
        out.append(_equal("nics.count", spec.nic_count, len(inv.nics)))
    if spec.nic_min_speed is not None:
        speeds = {n.name: n.speed_mbps for n in inv.nics}
        ok = bool(speeds) and all(s is not None and s >= spec.nic_min_speed for s in speeds.values())
        out.append(Check("nics.min_speed_mbps", spec.nic_min_speed, speeds, ok))
    return out


def _firmware(components: Sequence[FirmwareComponent], spec: QcSpec) -> list[Check]:
    out: list[Check] = []
    for key, version in sorted(spec.firmware.items()):
        matches = [c for c in components if key in (c.id, c.component)]
        if not matches:
            out.append(Check(f"firmware.{key}", version, None, False))
        for comp in matches:
            out.append(_equal(f"firmware.{comp.id}", version, comp.version))
    return out


def _boot(inv: Inventory, spec: QcSpec) -> list[Check]:
    out: list[Check] = []
    if spec.boot_mode is not None:
        out.append(_equal("boot_mode", spec.boot_mode, inv.boot_mode.value))
    if spec.secure_boot is not None:
        out.append(_equal("secure_boot", spec.secure_boot, inv.secure_boot))
    return out


def run_checks(inv: Inventory, components: Sequence[FirmwareComponent], spec: QcSpec) -> list[Check]:
    checks = _system_cpu_memory(inv, spec)
    if spec.disks is not None:
        checks += _disks(inv, spec.disks)
    return checks + _nics(inv, spec) + _firmware(components, spec) + _boot(inv, spec)
