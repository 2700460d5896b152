"""Hardware profiles: TOML files describing one machine model, parsed into frozen specs.

`load_profile("1u-nvme")` reads `simulator/machine/profiles/1u-nvme.toml`; a path to any .toml file works too.
A malformed profile raises `SpecError` naming the file, the field and what was expected. Unknown keys are
errors (a typo must not silently become a default). The format is documented by the shipped profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.machine.faults import HARDWARE_KINDS, Fault, parse_fault
from simulator.machine.profile_disks import DiskSpec, parse_disk_group
from simulator.machine.tomlread import Reader, SpecError, load_toml

PROFILE_DIR = Path(__file__).parent / "profiles"
UPDATE_BEHAVIOURS = ("now", "on_reboot", "fail", "unsupported")


@dataclass(frozen=True)
class NicSpec:
    name: str
    mac: str | None
    link: bool
    speed_mbps: int | None
    driver: str | None
    firmware_version: str | None


@dataclass(frozen=True)
class FirmwareSpec:
    id: str
    component: str
    vendor: str | None
    model: str | None
    version: str
    update: str
    flash_seconds: float
    unsupported_reason: str | None


@dataclass(frozen=True)
class MachineProfile:
    name: str
    file: str
    dmi: dict[str, str]
    cpu: dict[str, Any]
    memory_mib: int
    boot_mode: str
    secure_boot: bool | None
    kexec_allowed: bool
    nics: tuple[NicSpec, ...]
    disks: tuple[DiskSpec, ...]
    firmware: tuple[FirmwareSpec, ...]
    bios_settings: dict[str, str | int | bool]
    bios_settings_apply: str
    faults: tuple[Fault, ...]


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return path
    return PROFILE_DIR / f"{name_or_path}.toml"


def load_profile(name_or_path: str) -> MachineProfile:
    path = resolve(name_or_path)
    if not path.exists():
        raise SpecError(str(path), "(profile)", "one of " + ", ".join(profile_names()), name_or_path)
    return parse_profile(load_toml(path), path.stem)


def parse_profile(r: Reader, name: str) -> MachineProfile:
    r.check_keys({"description", "dmi", "cpu", "memory", "boot", "nics", "disks", "firmware",
                  "bios_settings", "faults"})
    boot = r.table("boot")
    boot.check_keys({"mode", "secure_boot", "kexec_allowed", "bios_settings_apply"})
    mode = boot.choice("mode", ("bios", "uefi"), "uefi")
    secure_boot = boot.flag("secure_boot", False) if mode == "uefi" else None
    mem = r.table("memory", required=True)
    mem.check_keys({"mib"})
    return MachineProfile(
        name=name,
        file=r.file,
        dmi=_dmi(r.table("dmi", required=True)),
        cpu=_cpu(r.table("cpu", required=True)),
        memory_mib=mem.integer("mib", minimum=1),
        boot_mode=mode,
        secure_boot=secure_boot,
        kexec_allowed=boot.flag("kexec_allowed", True),
        nics=tuple(_nic(n, i) for i, n in enumerate(r.tables("nics"))),
        disks=_disks(r),
        firmware=tuple(_firmware(f) for f in r.tables("firmware")),
        bios_settings=_settings(r.table("bios_settings")),
        bios_settings_apply=boot.choice("bios_settings_apply", ("now", "on_reboot"), "on_reboot"),
        faults=tuple(_hardware_fault(f) for f in r.tables("faults")),
    )


_DMI_KEYS = ("manufacturer", "product", "serial", "uuid", "baseboard_manufacturer", "baseboard_product",
             "baseboard_serial", "bios_vendor", "bios_version", "bios_date")


def _dmi(r: Reader) -> dict[str, str]:
    r.check_keys(set(_DMI_KEYS))
    out = {k: r.text(k) for k in ("manufacturer", "product")}
    out.update({k: r.text(k) for k in _DMI_KEYS if r.has(k)})
    return out


def _cpu(r: Reader) -> dict[str, Any]:
    r.check_keys({"model", "cores", "threads", "sockets", "architecture"})
    cores = r.integer("cores", minimum=1)
    return {"model": r.text("model"), "cores": cores, "threads": r.integer("threads", cores, minimum=1),
            "sockets": r.integer("sockets", 1, minimum=1), "architecture": r.text("architecture", "x86_64")}


def _nic(r: Reader, index: int) -> NicSpec:
    r.check_keys({"name", "mac", "link", "speed_mbps", "driver", "firmware_version"})
    return NicSpec(r.text("name", f"eth{index}"), r.text("mac", None), r.flag("link", True),
                   r.integer("speed_mbps", None, minimum=1), r.text("driver", None),
                   r.text("firmware_version", None))


def _firmware(r: Reader) -> FirmwareSpec:
    r.check_keys({"id", "component", "vendor", "model", "version", "update", "flash_seconds",
                  "unsupported_reason"})
    return FirmwareSpec(
        id=r.text("id"), component=r.text("component"), vendor=r.text("vendor", None),
        model=r.text("model", None),
        version=r.text("version"), update=r.choice("update", UPDATE_BEHAVIOURS, "now"),
        flash_seconds=r.number("flash_seconds", 60.0, positive=True),
        unsupported_reason=r.text("unsupported_reason", None),
    )


def _settings(r: Reader) -> dict[str, str | int | bool]:
    out: dict[str, str | int | bool] = {}
    for key, value in r.items():
        if not isinstance(value, str | int | bool):
            r.fail(key, "a string, integer or boolean", value)
        out[key] = value
    return out


def _hardware_fault(r: Reader) -> Fault:
    fault = parse_fault(r)
    if fault.kind not in HARDWARE_KINDS:
        r.fail("kind", "a hardware fault (" + ", ".join(HARDWARE_KINDS) + ") in a profile", fault.kind)
    return fault


def _disks(r: Reader) -> tuple[DiskSpec, ...]:
    disks: list[DiskSpec] = []
    for group in r.tables("disks"):
        disks.extend(parse_disk_group(group, disks))
    if not disks:
        r.fail("disks", "at least one [[disks]] table")
    return tuple(disks)
