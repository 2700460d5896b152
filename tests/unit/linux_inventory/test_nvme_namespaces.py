"""Counting a controller's namespaces from sysfs, found by the device node's major:minor."""

from __future__ import annotations

import os
from pathlib import Path

from teeth_agent.backend.linux.sysfs import nvme_namespace_count

# Any character device will do: only its major:minor is used to find the sysfs directory.
NODE = "/dev/null"


def controller_dir(root: Path, entries: list[str]) -> None:
    rdev = os.stat(NODE).st_rdev
    where = root / "dev/block" / f"{os.major(rdev)}:{os.minor(rdev)}" / "device"
    for name in entries:
        (where / name).mkdir(parents=True)


def test_counts_each_namespace_once_across_multipath_entries(tmp_path: Path) -> None:
    controller_dir(tmp_path, ["nvme0n1", "nvme0n2", "nvme0c0n1", "nvme0c0n2", "firmware_rev", "power"])
    assert nvme_namespace_count(NODE, sys_root=tmp_path) == 2


def test_unknown_when_sysfs_does_not_say(tmp_path: Path) -> None:
    assert nvme_namespace_count(NODE, sys_root=tmp_path) is None
    controller_dir(tmp_path, ["power"])
    assert nvme_namespace_count(NODE, sys_root=tmp_path) is None
    assert nvme_namespace_count(str(tmp_path / "missing"), sys_root=tmp_path) is None
