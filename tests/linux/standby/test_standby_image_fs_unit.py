"""Searching an image's partitions (image_fs.find_in_partitions) with a table-driven FakeRunner: no root.

`mount` answers by creating the partition's files in the mount point, so the search sees a filesystem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.linux.exec import FakeRunner, Result, failed, ok
from teeth_agent.backend.linux.image_fs import GRUB_CONFIGS, find_in_partitions
from teeth_agent.backend.linux.partitions import Partition, PartitionTable

TABLE = PartitionTable("dos", 512, (
    Partition(1, "/dev/loop9p1", 2048, 4096, "83", None),  # no filesystem the kernel knows
    Partition(2, "/dev/loop9p2", 8192, 8192, "83", None),  # the root filesystem with grub
))


def fake_mount(argv: tuple[str, ...], _input: bytes | None) -> Result:
    if argv[-2] == "/dev/loop9p1":
        return failed(32, "mount: wrong fs type")
    (Path(argv[-1]) / "boot/grub").mkdir(parents=True)
    (Path(argv[-1]) / "boot/grub/grub.cfg").write_text("menuentry x {}\n")
    return ok()


def exists(path: str) -> bool:
    return os.path.exists(path)


async def test_skips_partitions_that_do_not_mount_and_unmounts_what_it_mounted() -> None:
    runner = FakeRunner({("mount",): fake_mount, ("umount",): ok()})
    found = await find_in_partitions(runner, TABLE, GRUB_CONFIGS)
    assert found == (TABLE.partitions[1], "boot/grub/grub.cfg")
    mounts = [c for c in runner.calls if c[0] == "mount"]
    umounts = [c for c in runner.calls if c[0] == "umount"]
    assert [m[-2] for m in mounts] == ["/dev/loop9p1", "/dev/loop9p2"]
    assert [u[-1] for u in umounts] == [mounts[1][-1]]
    assert not exists(mounts[1][-1])  # the mount point is removed too


async def test_a_failed_unmount_is_reported_not_swallowed() -> None:
    """Only the mount may fail quietly; a partition left mounted must surface as the tool's error."""
    runner = FakeRunner({("mount",): fake_mount, ("umount",): failed(32, "umount: target is busy")})
    with pytest.raises(ToolError, match="busy"):
        await find_in_partitions(runner, TABLE, GRUB_CONFIGS)
