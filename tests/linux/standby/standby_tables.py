"""Partition tables read straight from a backing file's bytes (MBR, or GPT at any sector size).

Independent of sfdisk/sgdisk, which the backend itself uses (and this util-linux's sfdisk cannot be told
a file's sector size).
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path
from typing import Any


def _gpt(data: bytes, sector: int) -> dict[str, Any]:
    header = data[sector:sector + 92]
    entries_lba, count, entry_size = struct.unpack_from("<QII", header, 72)
    backup_lba = struct.unpack_from("<Q", header, 32)[0]
    parts = []
    for i in range(count):
        raw = data[entries_lba * sector + i * entry_size:][:entry_size]
        first, last = struct.unpack_from("<QQ", raw, 32)
        if raw[:16] == bytes(16):
            continue
        parts.append({"number": i + 1, "start": first, "size": last - first + 1,
                      "type": str(uuid.UUID(bytes_le=raw[:16])).upper(),
                      "name": raw[56:128].decode("utf-16-le").rstrip("\0")})
    return {"label": "gpt", "backup_lba": backup_lba, "partitions": parts}


def _mbr(data: bytes) -> dict[str, Any]:
    parts = []
    for i in range(4):
        kind, = struct.unpack_from("<B", data, 446 + 16 * i + 4)
        start, size = struct.unpack_from("<II", data, 446 + 16 * i + 8)
        if kind and size:
            parts.append({"number": i + 1, "start": start, "size": size, "type": f"{kind:x}", "name": None})
    return {"label": "dos", "partitions": parts}


def read_table(backing: Path, sector: int = 512) -> dict[str, Any]:
    with backing.open("rb") as f:
        head = f.read(sector * 40)
    if head[510:512] != b"\x55\xaa":
        raise AssertionError(f"{backing}: no MBR signature")
    if head[sector:sector + 8] == b"EFI PART":
        with backing.open("rb") as f:
            entries = f.read(sector * 2 + 128 * 128 + sector)
        return _gpt(entries, sector)
    return _mbr(head)
