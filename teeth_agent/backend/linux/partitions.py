"""Pure partition-table reading and config-drive placement (from `sfdisk --json DISK`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.errors import DeviceStateError

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ESP_MBR_TYPE = "EF"  # the same, as an MBR partition type (sfdisk reports it as "ef")
BIOS_BOOT_TYPE = "21686148-6449-6E6F-744E-656564454649"  # "Hah!IdontNeedEFI"
# GPT keeps a backup header and 32 sectors of entries at the end of the disk.
GPT_BACKUP_SECTORS = 33
ALIGN_BYTES = 1 << 20


@dataclass(frozen=True)
class Partition:
    number: int
    node: str
    start: int  # sectors
    size: int  # sectors
    type: str
    name: str | None


@dataclass(frozen=True)
class PartitionTable:
    label: str  # "gpt" | "dos"
    sector_size: int
    partitions: tuple[Partition, ...]
    # GPT: the last sector a partition may use, as the header says. Tools may keep it well before the
    # backup entries (sgdisk mirrors the first usable sector's gap at the end), so it bounds a new one.
    last_lba: int | None = None

    def by_name(self, name: str) -> Partition | None:
        return next((p for p in self.partitions if p.name == name), None)


def partition_path(disk: str, number: int) -> str:
    """The kernel's node name: /dev/sda -> /dev/sda2, /dev/nvme0n1 -> /dev/nvme0n1p2."""
    return f"{disk}p{number}" if disk[-1:].isdigit() else f"{disk}{number}"


def _number(node: str) -> int:
    digits = ""
    for ch in reversed(node):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits) if digits else 0


def parse_sfdisk_json(text: str) -> PartitionTable:
    try:
        table = json.loads(text)["partitiontable"]
        return _table(table)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DeviceStateError(f"unreadable partition table: {exc!r}") from exc


def _table(table: dict[str, Any]) -> PartitionTable:
    parts = tuple(
        Partition(
            number=_number(p["node"]),
            node=p["node"],
            start=int(p["start"]),
            size=int(p["size"]),
            type=str(p.get("type", "")).upper(),
            name=p.get("name"),
        )
        for p in table.get("partitions", ())
    )
    last = table.get("lastlba")
    return PartitionTable(
        label=table.get("label", "dos"),
        sector_size=int(table.get("sectorsize", 512)),
        partitions=parts,
        last_lba=int(last) if last is not None else None,
    )


def plan_config_drive(table: PartitionTable, disk_size: int, fs_size: int) -> tuple[int, int]:
    """(start, size) in sectors for a config drive at the end of the disk, 1 MiB aligned.

    Raises DeviceStateError when it would overlap the image or the table has no free slot.
    """
    sector = table.sector_size
    end = disk_size // sector - (GPT_BACKUP_SECTORS if table.label == "gpt" else 0)
    if table.last_lba is not None:
        end = min(end, table.last_lba + 1)
    align = ALIGN_BYTES // sector
    size = -(-fs_size // sector)
    start = (end - size) // align * align
    used_end = max((p.start + p.size for p in table.partitions), default=align)
    if start < used_end:
        raise DeviceStateError(
            f"no room for a {fs_size}-byte config drive after the image (image ends at sector {used_end}, "
            f"disk has {end})"
        )
    # Logical partitions (5 and up) live inside the extended one and take no primary slot.
    if table.label == "dos" and len([p for p in table.partitions if p.number <= 4]) >= 4:
        raise DeviceStateError("an MBR disk with 4 primary partitions has no slot for a config drive")
    return start, end - start
