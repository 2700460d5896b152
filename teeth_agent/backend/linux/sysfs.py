"""Block queue limits from sysfs, found by the device node's major:minor (works whatever /dev holds)."""

from __future__ import annotations

import os
import re
from pathlib import Path

SYS = Path("/sys")


def queue_attr(path: str, name: str, *, sys_root: Path = SYS) -> int:
    """An integer attribute of the device's request queue (e.g. write_zeroes_max_bytes); 0 if absent."""
    try:
        rdev = os.stat(path).st_rdev
    except OSError:
        return 0
    attr = sys_root / "dev" / "block" / f"{os.major(rdev)}:{os.minor(rdev)}" / "queue" / name
    try:
        return int(attr.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def nvme_namespace_count(path: str, *, sys_root: Path = SYS) -> int | None:
    """Active namespaces of the controller behind an NVMe namespace node; None when sysfs does not say."""
    try:
        rdev = os.stat(path).st_rdev
        controller = sys_root / "dev" / "block" / f"{os.major(rdev)}:{os.minor(rdev)}" / "device"
        names = os.listdir(controller)
    except OSError:
        return None
    # With native multipath a namespace also appears per path as nvmeXcYnZ; count each namespace once.
    found = {re.sub(r"c\d+", "", n) for n in names if re.fullmatch(r"nvme\d+(c\d+)?n\d+", n)}
    return len(found) or None
