"""Find things inside a written image: its partitions, the one holding grub's files, a kernel path."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from teeth_agent.backend.errors import DeviceStateError, ToolError
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.mounts import mounted
from teeth_agent.backend.linux.partitions import Partition, PartitionTable, parse_sfdisk_json

TOOL_TIMEOUT = 60.0
GRUB_CONFIGS = ("boot/grub/grub.cfg", "grub/grub.cfg", "boot/grub2/grub.cfg", "grub2/grub.cfg")


async def reread_table_if_any(runner: Runner, disk: str) -> PartitionTable | None:
    """The disk's partition table after the kernel re-read it, or None when the disk has none (a
    whole-disk filesystem image is a valid image)."""
    await runner.run(["partprobe", disk], timeout=TOOL_TIMEOUT, check=False)
    await runner.run(["udevadm", "settle", "--timeout=30"], timeout=TOOL_TIMEOUT, check=False)
    result = await runner.run(["sfdisk", "--json", disk], timeout=TOOL_TIMEOUT, check=False)
    if result.returncode != 0:
        return None
    return parse_sfdisk_json(result.stdout)


async def reread_table(runner: Runner, disk: str) -> PartitionTable:
    table = await reread_table_if_any(runner, disk)
    if table is None:
        raise DeviceStateError(f"{disk} has no partition table")
    return table


@contextlib.asynccontextmanager
async def _try_mount(runner: Runner, part: Partition, writable: bool) -> AsyncIterator[Path | None]:
    """The partition mounted, or None when it does not mount (no filesystem, one the kernel lacks).

    Only the mount itself may fail quietly: an error in the caller's body or in the unmount propagates
    (catching it around the yield would make this generator yield twice)."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            where: Path | None = await stack.enter_async_context(
                mounted(runner, part.node, writable=writable)
            )
        except ToolError:
            where = None
        yield where


async def find_in_partitions(
    runner: Runner, table: PartitionTable, candidates: tuple[str, ...]
) -> tuple[Partition, str] | None:
    """The first partition (and relative path) holding one of `candidates`."""
    for part in table.partitions:
        async with _try_mount(runner, part, writable=False) as where:
            if where is None:
                continue
            for relative in candidates:
                if (where / relative).is_file():
                    return part, relative
    return None


def kernel_candidates(path: str) -> tuple[str, ...]:
    """grub paths are relative to grub's root: the root filesystem (/boot/vmlinuz) or a /boot partition."""
    relative = path.lstrip("/")
    if relative.startswith("boot/"):
        return (relative, relative.removeprefix("boot/"))
    return (relative, f"boot/{relative}")
