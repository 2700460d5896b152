"""Params of decom.qc: the chassis spec the endpoint expects, and an optional bounded burn-in.

    spec: {
      "system":     {"manufacturer": str, "product": str},
      "cpu":        {"model": str, "count": int (sockets), "cores": int, "threads": int},
      "memory_mib": {"min": int, "max": int},
      "disks":      [{"type": "nvme"|"ssd"|"hdd"|"virtio", "size_bytes": int, "count": int,
                      "tolerance_percent": number (1)}],
      "nics":       {"count": int, "min_speed_mbps": int},
      "firmware":   {"<component kind or id>": "<version>"},
      "boot_mode":  "uefi"|"bios",
      "secure_boot": bool
    }
    burnin: {"disk_read": {"samples": int (16), "chunk_bytes": int (1 MiB), "max_seconds": number (60)}}

Every key is optional, except that a section present must be well-formed; unknown keys are rejected so a
typo never silently skips a check. Errors are InvalidParams naming the field by its dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.errors import InvalidParams
from teeth_agent.params import get_bool, get_choice, get_int, get_object, get_str

DISK_TYPES = ("nvme", "ssd", "hdd", "virtio")


@dataclass(frozen=True)
class DiskSpec:
    type: str
    size_bytes: int
    count: int
    tolerance_percent: float = 1.0


@dataclass(frozen=True)
class QcSpec:
    manufacturer: str | None = None
    product: str | None = None
    cpu_model: str | None = None
    cpu_count: int | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    memory_min: int | None = None
    memory_max: int | None = None
    disks: tuple[DiskSpec, ...] | None = None
    nic_count: int | None = None
    nic_min_speed: int | None = None
    firmware: Mapping[str, str] = field(default_factory=dict)
    boot_mode: str | None = None
    secure_boot: bool | None = None


@dataclass(frozen=True)
class Burnin:
    samples: int = 16
    chunk_bytes: int = 1 << 20
    max_seconds: float = 60.0


@dataclass(frozen=True)
class QcParams:
    spec: QcSpec
    burnin: Burnin | None = None


def _keys(obj: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidParams(prefix + unknown[0], "unknown key")


def _number(obj: Mapping[str, Any], key: str, default: float, prefix: str) -> float:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidParams(prefix + key, f"expected a positive number, got {value!r}")
    return float(value)


def _section(spec: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
    obj = get_object(spec, key, {}, prefix="spec.")
    _keys(obj, allowed, f"spec.{key}.")
    return obj  # type: ignore[no-any-return]


def _disk(item: Any, i: int) -> DiskSpec:
    prefix = f"spec.disks[{i}]."
    if not isinstance(item, dict):
        raise InvalidParams(prefix[:-1], f"expected an object, got {type(item).__name__}")
    _keys(item, {"type", "size_bytes", "count", "tolerance_percent"}, prefix)
    return DiskSpec(
        type=get_choice(item, "type", DISK_TYPES, prefix=prefix),
        size_bytes=get_int(item, "size_bytes", minimum=1, prefix=prefix),
        count=get_int(item, "count", minimum=0, prefix=prefix),
        tolerance_percent=_number(item, "tolerance_percent", 1.0, prefix),
    )


def _disks(spec: Mapping[str, Any]) -> tuple[DiskSpec, ...] | None:
    if "disks" not in spec:
        return None
    items = spec["disks"]
    if not isinstance(items, list):
        raise InvalidParams("spec.disks", f"expected a list, got {type(items).__name__}")
    return tuple(_disk(item, i) for i, item in enumerate(items))


def _firmware(spec: Mapping[str, Any]) -> dict[str, str]:
    obj = get_object(spec, "firmware", {}, prefix="spec.")
    for key, value in obj.items():
        if not isinstance(value, str):
            raise InvalidParams(
                f"spec.firmware.{key}", f"expected a version string, got {type(value).__name__}"
            )
    return dict(obj)


def parse_spec(spec: Mapping[str, Any]) -> QcSpec:
    top = {"system", "cpu", "memory_mib", "disks", "nics", "firmware", "boot_mode", "secure_boot"}
    _keys(spec, top, "spec.")
    system = _section(spec, "system", {"manufacturer", "product"})
    cpu = _section(spec, "cpu", {"model", "count", "cores", "threads"})
    mem = _section(spec, "memory_mib", {"min", "max"})
    nics = _section(spec, "nics", {"count", "min_speed_mbps"})
    out = QcSpec(
        manufacturer=get_str(system, "manufacturer", None, prefix="spec.system."),
        product=get_str(system, "product", None, prefix="spec.system."),
        cpu_model=get_str(cpu, "model", None, prefix="spec.cpu."),
        cpu_count=get_int(cpu, "count", None, minimum=1, prefix="spec.cpu."),
        cpu_cores=get_int(cpu, "cores", None, minimum=1, prefix="spec.cpu."),
        cpu_threads=get_int(cpu, "threads", None, minimum=1, prefix="spec.cpu."),
        memory_min=get_int(mem, "min", None, minimum=0, prefix="spec.memory_mib."),
        memory_max=get_int(mem, "max", None, minimum=0, prefix="spec.memory_mib."),
        disks=_disks(spec),
        nic_count=get_int(nics, "count", None, minimum=0, prefix="spec.nics."),
        nic_min_speed=get_int(nics, "min_speed_mbps", None, minimum=1, prefix="spec.nics."),
        firmware=_firmware(spec),
        boot_mode=get_choice(spec, "boot_mode", ("uefi", "bios"), None, prefix="spec."),
        secure_boot=get_bool(spec, "secure_boot", None, prefix="spec."),
    )
    if out.memory_min is not None and out.memory_max is not None and out.memory_min > out.memory_max:
        raise InvalidParams("spec.memory_mib.max", "is smaller than min")
    return out


def parse_burnin(obj: Mapping[str, Any]) -> Burnin | None:
    if "memory" in obj:
        # The agent reaches hardware only through the Backend, which has no memory test: say so plainly
        # rather than run a meaningless pattern check on the agent's own heap.
        raise InvalidParams("burnin.memory", "memory burn-in is not supported by this agent")
    _keys(obj, {"disk_read"}, "burnin.")
    if "disk_read" not in obj:
        return None
    disk = get_object(obj, "disk_read", prefix="burnin.")
    prefix = "burnin.disk_read."
    _keys(disk, {"samples", "chunk_bytes", "max_seconds"}, prefix)
    chunk = get_int(disk, "chunk_bytes", 1 << 20, minimum=4096, prefix=prefix)
    if chunk % 4096:
        raise InvalidParams(prefix + "chunk_bytes", "must be a multiple of 4096")
    return Burnin(
        samples=get_int(disk, "samples", 16, minimum=1, prefix=prefix),
        chunk_bytes=chunk,
        max_seconds=_number(disk, "max_seconds", 60.0, prefix),
    )


def parse_qc_params(params: Mapping[str, Any]) -> QcParams:
    _keys(params, {"task_id", "spec", "burnin"}, "")
    spec = get_object(params, "spec")
    return QcParams(spec=parse_spec(spec), burnin=parse_burnin(get_object(params, "burnin", {})))
