"""The [[disks]] part of a profile: one table describes one disk, or `count` identical ones.

Kernel names are assigned in order when not given (sda.. for SATA/SAS/USB, nvme0n1.. for NVMe, vda.. for
virtio), like the kernel would. Serials are left None here and generated per machine from the seed.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from simulator.machine.tomlread import Reader

TRANSPORTS = ("sata", "sas", "nvme", "virtio", "usb")
SANITIZE_ACTIONS = ("crypto", "block", "overwrite")


@dataclass(frozen=True)
class AtaSpec:
    supported: bool = True
    enhanced_erase: bool = False
    erase_minutes: int = 60
    enhanced_erase_minutes: int | None = None
    hidden_by_bridge: bool = False
    frozen: bool = False
    password: str | None = None  # a drive that arrives with a user password set (and so locked)


@dataclass(frozen=True)
class NvmeSpec:
    crypto_erase: bool = False
    format_all_namespaces: bool = False
    crypto_all_namespaces: bool = False
    sanitize: tuple[str, ...] = ()
    format_seconds: float = 10.0
    crypto_seconds: float = 2.0
    sanitize_seconds: float = 600.0


@dataclass(frozen=True)
class DiskSpec:
    name: str
    transport: str
    model: str
    size: int
    serial: str | None = None
    wwn: str | None = None
    logical_sector_size: int = 512
    physical_sector_size: int = 512
    rotational: bool = False
    read_only: bool = False
    removable: bool = False
    is_boot_medium: bool = False
    raid_member: bool = False
    fs_signatures: tuple[str, ...] = ()
    discard: bool = False
    discard_zeroes: bool = False
    write_zeroes: bool = False
    throughput_mbps: float = 500.0
    firmware_version: str | None = None
    contents: str = "old-data"
    ata: AtaSpec | None = None
    nvme: NvmeSpec | None = None


_DISK_KEYS = {
    "count", "name", "transport", "model", "size", "serial", "wwn", "logical_sector_size",
    "physical_sector_size", "rotational", "read_only", "removable", "is_boot_medium", "raid_member",
    "fs_signatures", "discard", "discard_zeroes", "write_zeroes", "throughput_mbps", "firmware_version",
    "contents", "ata", "nvme",
}


def _letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa: the kernel's sdX naming."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = string.ascii_lowercase[rem] + out
    return out


def _next_name(transport: str, existing: list[DiskSpec]) -> str:
    if transport == "nvme":
        used = sum(1 for d in existing if d.transport == "nvme")
        return f"nvme{used}n1"
    if transport == "virtio":
        return "vd" + _letters(sum(1 for d in existing if d.transport == "virtio"))
    return "sd" + _letters(sum(1 for d in existing if d.transport in ("sata", "sas", "usb")))


def _ata(r: Reader) -> AtaSpec:
    r.check_keys({"supported", "enhanced_erase", "erase_minutes", "enhanced_erase_minutes",
                  "hidden_by_bridge", "frozen", "password"})
    return AtaSpec(
        supported=r.flag("supported", True), enhanced_erase=r.flag("enhanced_erase", False),
        erase_minutes=r.integer("erase_minutes", 60, minimum=1),
        enhanced_erase_minutes=r.integer("enhanced_erase_minutes", None, minimum=1),
        hidden_by_bridge=r.flag("hidden_by_bridge", False), frozen=r.flag("frozen", False),
        password=r.text("password", None),
    )


def _nvme(r: Reader) -> NvmeSpec:
    r.check_keys({"crypto_erase", "format_all_namespaces", "crypto_all_namespaces", "sanitize",
                  "format_seconds", "crypto_seconds", "sanitize_seconds"})
    sanitize = r.str_list("sanitize", ())
    for action in sanitize:
        if action not in SANITIZE_ACTIONS:
            r.fail("sanitize", "a list drawn from " + ", ".join(SANITIZE_ACTIONS), list(sanitize))
    return NvmeSpec(
        crypto_erase=r.flag("crypto_erase", False),
        format_all_namespaces=r.flag("format_all_namespaces", False),
        crypto_all_namespaces=r.flag("crypto_all_namespaces", False), sanitize=sanitize,
        format_seconds=r.number("format_seconds", 10.0, positive=True),
        crypto_seconds=r.number("crypto_seconds", 2.0, positive=True),
        sanitize_seconds=r.number("sanitize_seconds", 600.0, positive=True),
    )


def _sector(r: Reader, key: str, default: int) -> int:
    value: int = r.integer(key, default)
    if value not in (512, 4096):
        r.fail(key, "512 or 4096", value)
    return value


def parse_disk_group(r: Reader, existing: list[DiskSpec]) -> list[DiskSpec]:
    r.check_keys(_DISK_KEYS)
    count = r.integer("count", 1, minimum=1)
    if count > 1 and (r.has("name") or r.has("serial")):
        r.fail("count", "1 when name or serial is given (they must be unique)", count)
    transport = r.choice("transport", TRANSPORTS)
    logical = _sector(r, "logical_sector_size", 512)
    size = r.size("size")
    if size <= 0 or size % max(logical, 4096):
        r.fail("size", f"a positive multiple of {max(logical, 4096)} bytes", size)
    ata = _ata(r.table("ata")) if r.has("ata") else None
    nvme = _nvme(r.table("nvme")) if r.has("nvme") else None
    if nvme is not None and transport != "nvme":
        r.fail("nvme", "no [nvme] table unless transport = \"nvme\"")
    if ata is not None and transport not in ("sata", "usb"):
        r.fail("ata", "no [ata] table unless transport is sata or usb")
    common = dict(
        transport=transport, model=r.text("model"), size=size, wwn=r.text("wwn", None),
        logical_sector_size=logical, physical_sector_size=_sector(r, "physical_sector_size", logical),
        rotational=r.flag("rotational", False), read_only=r.flag("read_only", False),
        removable=r.flag("removable", False), is_boot_medium=r.flag("is_boot_medium", False),
        raid_member=r.flag("raid_member", False), fs_signatures=r.str_list("fs_signatures", ()),
        discard=r.flag("discard", False), discard_zeroes=r.flag("discard_zeroes", False),
        write_zeroes=r.flag("write_zeroes", False),
        throughput_mbps=r.number("throughput_mbps", 500.0, positive=True),
        firmware_version=r.text("firmware_version", None),
        contents=r.choice("contents", ("old-data", "zero"), "old-data"),
        ata=ata, nvme=nvme,
    )
    out: list[DiskSpec] = []
    for _ in range(count):
        name = r.text("name", None) or _next_name(transport, existing + out)
        out.append(DiskSpec(name=name, serial=r.text("serial", None), **common))
    return out
