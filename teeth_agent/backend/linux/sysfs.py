"""Block queue limits from sysfs, found by the device node's major:minor (works whatever /dev holds)."""

from __future__ import annotations

import os
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
