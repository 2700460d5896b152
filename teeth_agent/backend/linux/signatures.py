"""Pure parsers for what sits on a disk: `blkid -p -o export`, `wipefs`, `sfdisk --json`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass


def parse_blkid_export(text: str) -> list[dict[str, str]]:
    """`blkid -o export` output: one dict of KEY=VALUE per device (blocks are separated by blank lines)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"blkid export line without '=': {line!r}")
        current[key.strip()] = value
    if current:
        blocks.append(current)
    return blocks


def blkid_signatures(text: str) -> tuple[str, ...]:
    """The signature types (partition table and filesystem/RAID) named in `blkid -p -o export` output."""
    found: list[str] = []
    for block in parse_blkid_export(text):
        for key in ("PTTYPE", "TYPE"):
            if key in block and block[key] not in found:
                found.append(block[key])
    return tuple(found)


@dataclass(frozen=True)
class Signature:
    type: str
    offset: int


def parse_wipefs_json(text: str) -> tuple[Signature, ...]:
    """`wipefs --json DEV` (no-act listing) output; empty output means no signatures."""
    if not text.strip():
        return ()
    doc = json.loads(text)
    entries = doc.get("signatures") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ValueError("wipefs JSON has no 'signatures' list")
    return tuple(Signature(str(e["type"]), int(str(e["offset"]), 0)) for e in entries)


_ERASED = re.compile(r"bytes? (?:was|were) erased at offset (0x[0-9a-fA-F]+) \(([^)]+)\)")


def parse_wipefs_erased(text: str) -> tuple[Signature, ...]:
    """`wipefs -a DEV` output: the signatures it erased."""
    return tuple(Signature(kind, int(offset, 16)) for offset, kind in _ERASED.findall(text))


@dataclass(frozen=True)
class Partition:
    number: int
    start: int  # bytes
    size: int  # bytes
    node: str | None


def parse_sfdisk_json(text: str) -> tuple[Partition, ...]:
    """Partitions read by `sfdisk --json DEV` from the disk itself (no kernel partition devices needed)."""
    doc = json.loads(text)
    table = doc.get("partitiontable") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        raise ValueError("sfdisk JSON has no 'partitiontable'")
    sector = int(table.get("sectorsize", 512))
    if table.get("unit", "sectors") != "sectors":
        raise ValueError(f"sfdisk JSON unit {table.get('unit')!r} is not 'sectors'")
    partitions: list[Partition] = []
    for index, entry in enumerate(table.get("partitions") or (), start=1):
        node = entry.get("node")
        match = re.search(r"(\d+)$", node or "")
        number = int(match.group(1)) if match else index
        partitions.append(Partition(number, int(entry["start"]) * sector, int(entry["size"]) * sector, node))
    return tuple(partitions)
