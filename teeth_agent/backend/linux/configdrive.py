"""The config drive on Linux: build an ISO9660 (vfat on 4K-sector disks) and put it in a partition at the
end of the install disk.

The filesystem is written through the whole-disk device at the partition's offset, so no partition node
has to appear first (udev may be slow, and a private /dev in tests has none).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from teeth_agent.backend.errors import DeviceStateError
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.partitions import (
    Partition,
    PartitionTable,
    parse_sfdisk_json,
    partition_path,
    plan_config_drive,
)

LABEL = "config-2"
MAX_BYTES = 64 << 20
TOOL_TIMEOUT = 120.0
CHUNK = 4 << 20


def _stage(files: Mapping[str, bytes], where: Path) -> int:
    total = 0
    for relative, data in files.items():
        target = (where / relative).resolve()
        if not target.is_relative_to(where.resolve()):
            raise DeviceStateError(f"config drive path escapes its root: {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        total += len(data)
    return total


async def build_filesystem(
    runner: Runner, files: Mapping[str, bytes], workdir: Path, *, vfat: bool, sector_size: int = 4096
) -> Path:
    content = workdir / "content"
    content.mkdir()
    payload = _stage(files, content)
    if payload > MAX_BYTES:
        raise DeviceStateError(f"config drive content is {payload} bytes; the limit is {MAX_BYTES}")
    image = workdir / "configdrive.img"
    if vfat:
        kib = max(2048, (payload * 2) // 1024 + 1024)
        # FAT's logical sector must be the disk's (4096 here): Linux refuses to mount a FAT whose sectors
        # are smaller than the device's logical block.
        argv = ["mkfs.vfat", "-C", "-S", str(sector_size), "-n", LABEL.upper(), str(image), str(kib)]
        await runner.run(argv, timeout=TOOL_TIMEOUT)
        entries = [str(p) for p in sorted(content.iterdir())]
        await runner.run(["mcopy", "-s", "-i", str(image), *entries, "::"], timeout=TOOL_TIMEOUT)
    else:
        await runner.run(
            ["xorriso", "-as", "mkisofs", "-o", str(image), "-V", LABEL, "-J", "-r", str(content)],
            timeout=TOOL_TIMEOUT,
        )
    if image.stat().st_size > MAX_BYTES:
        raise DeviceStateError(
            f"config drive image is {image.stat().st_size} bytes; the limit is {MAX_BYTES}"
        )
    return image


def _copy_into(disk: str, image: Path, offset: int) -> None:
    fd = os.open(disk, os.O_WRONLY)
    try:
        with image.open("rb") as src:
            position = offset
            while chunk := src.read(CHUNK):
                os.pwrite(fd, chunk, position)
                position += len(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)


async def _table(runner: Runner, disk: str) -> PartitionTable:
    return parse_sfdisk_json((await runner.run(["sfdisk", "--json", disk], timeout=TOOL_TIMEOUT)).stdout)


async def _fs_label(runner: Runner, disk: str, offset: int) -> str | None:
    argv = ["blkid", "--probe", "--output", "export", "--offset", str(offset), disk]
    probed = await runner.run(argv, timeout=TOOL_TIMEOUT, check=False)
    for line in probed.stdout.splitlines():
        if line.startswith("LABEL="):
            return line.removeprefix("LABEL=")
    return None


async def _previous_drive(runner: Runner, disk: str, table: PartitionTable) -> Partition | None:
    """The config drive an earlier run wrote: the last partition, named config-2 (GPT) or holding a
    filesystem labelled so (MBR partitions have no names; vfat labels are upper case)."""
    if not table.partitions:
        return None
    last = max(table.partitions, key=lambda p: p.start)
    if last.name == LABEL:
        return last
    label = await _fs_label(runner, disk, last.start * table.sector_size)
    return last if label is not None and label.lower() == LABEL else None


async def _make_room(runner: Runner, disk: str) -> PartitionTable:
    """The table with any earlier config drive removed, and (GPT) its backup header at the disk's end:
    an image smaller than the disk carries its backup GPT where the image ended, and no partition can
    be added beyond it."""
    table = await _table(runner, disk)
    if table.label == "gpt":
        await runner.run(["sgdisk", "--move-second-header", disk], timeout=TOOL_TIMEOUT)
    previous = await _previous_drive(runner, disk, table)
    if previous is not None:
        # A retried run_image replaces the config drive it wrote before rather than adding another.
        argv = ["sfdisk", "--delete", "--no-reread", disk, str(previous.number)]
        await runner.run(argv, timeout=TOOL_TIMEOUT)
    return await _table(runner, disk)


async def _add_partition(runner: Runner, disk: str, table: PartitionTable, start: int, size: int) -> int:
    """Add the partition; return the number the table gave it."""
    if table.label == "gpt":
        number = max((p.number for p in table.partitions), default=0) + 1
        await runner.run(
            ["sgdisk", f"--new={number}:{start}:{start + size - 1}", f"--change-name={number}:{LABEL}",
             f"--typecode={number}:0700", disk],
            timeout=TOOL_TIMEOUT,
        )
    else:
        spec = f"start={start}, size={size}, type=83\n".encode()
        await runner.run(["sfdisk", "--append", "--no-reread", disk], input=spec, timeout=TOOL_TIMEOUT)
    added = next((p for p in (await _table(runner, disk)).partitions if p.start == start), None)
    if added is None:
        raise DeviceStateError(f"the config drive partition at sector {start} did not appear on {disk}")
    return added.number


async def write_config_drive(
    runner: Runner, disk: str, files: Mapping[str, bytes], *, sector_size: int, disk_size: int
) -> str:
    with tempfile.TemporaryDirectory(prefix="teeth-configdrive-") as tmp:
        image = await build_filesystem(runner, files, Path(tmp), vfat=sector_size >= 4096,
                                       sector_size=sector_size)
        table = await _make_room(runner, disk)
        start, size = plan_config_drive(table, disk_size, image.stat().st_size)
        number = await _add_partition(runner, disk, table, start, size)
        await asyncio.to_thread(_copy_into, disk, image, start * table.sector_size)
    # The kernel learns of the new partition when it re-reads the table; a busy disk refuses, which only
    # delays the node's appearance, so it is not an error here.
    await runner.run(["partprobe", disk], timeout=TOOL_TIMEOUT, check=False)
    return partition_path(disk, number)
