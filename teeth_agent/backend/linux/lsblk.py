"""Pure parser for `lsblk -J -O -b`: whole disks as BlockDevice, with their partitions' paths.

Only identity and guard facts lsblk knows are filled in here; the acting layer adds what other tools
report (ATA security, NVMe abilities, probed signatures, write-zeroes support). lsblk's FSTYPE column
comes from the udev database, so it is empty where udev does not run; signatures are probed separately.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.types import BlockDevice, Transport

_TRANSPORTS = {
    "sata": Transport.SATA,
    "ata": Transport.SATA,
    "sas": Transport.SAS,
    "nvme": Transport.NVME,
    "usb": Transport.USB,
}
# Block devices that are never erase targets: RAM disks, compressed swap, optical drives, md/dm stacks.
_DISK_TYPES = frozenset({"disk", "loop"})
_SKIP_NAME_PREFIXES = ("zram", "ram")


@dataclass(frozen=True)
class LsblkDisk:
    device: BlockDevice
    kind: str  # lsblk TYPE: "disk" or "loop"
    partitions: tuple[str, ...]
    # Mount points of the disk or anything on it: a mounted disk is in use by the running system.
    mountpoints: tuple[str, ...]


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children") or ():
        yield from _walk(child)


def _mountpoints(node: dict[str, Any]) -> list[str]:
    points = list(node.get("mountpoints") or ())
    points.append(node.get("mountpoint"))
    return [p for p in points if p]


def _signatures(node: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for item in _walk(node):
        for key in ("pttype", "fstype"):
            value = item.get(key)
            if value and value not in found:
                found.append(value)
    return tuple(found)


def _transport(node: dict[str, Any]) -> Transport:
    tran = (node.get("tran") or "").lower()
    if tran in _TRANSPORTS:
        return _TRANSPORTS[tran]
    if node.get("type") == "loop":
        return Transport.LOOP
    if "virtio" in (node.get("subsystems") or "") or str(node.get("name", "")).startswith("vd"):
        return Transport.VIRTIO
    return Transport.OTHER


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _flag(value: Any) -> bool:
    # lsblk >= 2.33 prints JSON booleans; older releases print "0"/"1" strings.
    return value is True or value in ("1", 1)


def _int(node: dict[str, Any], key: str, default: int) -> int:
    value = node.get(key)
    return default if value is None else int(value)


def _is_raid_member(node: dict[str, Any], signatures: tuple[str, ...]) -> bool:
    if any(sig.endswith("_raid_member") for sig in signatures):
        return True
    return any(str(child.get("type", "")).startswith("raid") for child in _walk(node))


def _device(node: dict[str, Any]) -> BlockDevice:
    signatures = _signatures(node)
    return BlockDevice(
        path=node.get("path") or f"/dev/{node['name']}",
        size=_int(node, "size", 0),
        serial=_text(node.get("serial")),
        model=_text(node.get("model")),
        wwn=_text(node.get("wwn")),
        logical_sector_size=_int(node, "log-sec", 512),
        physical_sector_size=_int(node, "phy-sec", 512),
        rotational=_flag(node.get("rota")),
        transport=_transport(node),
        read_only=_flag(node.get("ro")),
        removable=_flag(node.get("rm")),
        raid_member=_is_raid_member(node, signatures),
        fs_signatures=signatures,
        discard_supported=_int(node, "disc-gran", 0) > 0 and _int(node, "disc-max", 0) > 0,
        discard_zeroes=_flag(node.get("disc-zero")),
        firmware_version=_text(node.get("rev")),
    )


def parse_lsblk_tree(text: str) -> tuple[LsblkDisk, ...]:
    """Whole disks (and loop devices) from `lsblk -J -O -b`, partitions and mount points included."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("blockdevices"), list):
        raise ValueError("lsblk JSON has no 'blockdevices' list")
    disks: list[LsblkDisk] = []
    for node in doc["blockdevices"]:
        if node.get("type") not in _DISK_TYPES or str(node.get("name", "")).startswith(_SKIP_NAME_PREFIXES):
            continue
        device = _device(node)
        partitions = tuple(
            c.get("path") or f"/dev/{c['name']}"
            for c in node.get("children") or ()
            if c.get("type") == "part"
        )
        mounts = tuple(dict.fromkeys(p for item in _walk(node) for p in _mountpoints(item)))
        disks.append(LsblkDisk(device, node["type"], partitions, mounts))
    return tuple(disks)


def parse_lsblk(text: str) -> tuple[BlockDevice, ...]:
    """Whole disks from `lsblk -J -O -b` as BlockDevice values."""
    return tuple(disk.device for disk in parse_lsblk_tree(text))
