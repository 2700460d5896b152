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
from teeth_agent.backend.linux.partitions import parse_sfdisk_json, partition_path, plan_config_drive

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


async def build_filesystem(runner: Runner, files: Mapping[str, bytes], workdir: Path, *, vfat: bool) -> Path:
    content = workdir / "content"
    content.mkdir()
    payload = _stage(files, content)
    if payload > MAX_BYTES:
        raise DeviceStateError(f"config drive content is {payload} bytes; the limit is {MAX_BYTES}")
    image = workdir / "configdrive.img"
    if vfat:
        kib = max(2048, (payload * 2) // 1024 + 1024)
        await runner.run(["mkfs.vfat", "-C", "-n", LABEL.upper(), str(image), str(kib)], timeout=TOOL_TIMEOUT)
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


async def write_config_drive(
    runner: Runner, disk: str, files: Mapping[str, bytes], *, sector_size: int, disk_size: int
) -> str:
    with tempfile.TemporaryDirectory(prefix="teeth-configdrive-") as tmp:
        image = await build_filesystem(runner, files, Path(tmp), vfat=sector_size >= 4096)
        table = parse_sfdisk_json((await runner.run(["sfdisk", "--json", disk], timeout=TOOL_TIMEOUT)).stdout)
        existing = table.by_name(LABEL)
        if existing is not None:
            # A retried run_image replaces the config drive it wrote before rather than adding another.
            await runner.run(["sfdisk", "--delete", disk, str(existing.number)], timeout=TOOL_TIMEOUT)
            table = parse_sfdisk_json(
                (await runner.run(["sfdisk", "--json", disk], timeout=TOOL_TIMEOUT)).stdout
            )
        start, size = plan_config_drive(table, disk_size, image.stat().st_size)
        number = max((p.number for p in table.partitions), default=0) + 1
        if table.label == "gpt":
            await runner.run(
                [
                    "sgdisk",
                    f"--new={number}:{start}:{start + size - 1}",
                    f"--change-name={number}:{LABEL}",
                    f"--typecode={number}:0700",
                    disk,
                ],
                timeout=TOOL_TIMEOUT,
            )
        else:
            spec = f"start={start}, size={size}, type=83\n".encode()
            await runner.run(["sfdisk", "--append", "--no-reread", disk], input=spec, timeout=TOOL_TIMEOUT)
        await asyncio.to_thread(_copy_into, disk, image, start * table.sector_size)
    # The kernel learns of the new partition when it re-reads the table; a busy disk refuses, which only
    # delays the node's appearance, so it is not an error here.
    await runner.run(["partprobe", disk], timeout=TOOL_TIMEOUT, check=False)
    return partition_path(disk, number)
