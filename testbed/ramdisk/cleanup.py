"""Release whatever a ramdisk build left mounted or attached under its own scratch directory.

disk-image-create cleans up after itself when it exits normally; a build that is killed (timeout, ^C)
may leave its tmpfs, bind mounts and loop device behind. Every build runs with TMPDIR set to a directory
of its own, so anything found under it belongs to that build and nothing else is touched.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def _unescape_mount_path(field: str) -> str:
    # /proc/self/mountinfo escapes space, tab, newline and backslash as \040, \011, \012, \134.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _is_under(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root).rstrip("/") + "/")


def mounts_under(mountinfo: str, root: Path) -> list[str]:
    """Mount points at or below `root`, deepest first (the order they must be unmounted in)."""
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4 and _is_under(_unescape_mount_path(fields[4]), root):
            points.append(_unescape_mount_path(fields[4]))
    return sorted(set(points), key=lambda point: (-point.count("/"), point))


def loops_backed_under(losetup_json: str, root: Path) -> list[str]:
    """Loop devices whose backing file lies below `root`, from `losetup --list --json` output."""
    if not losetup_json.strip():
        return []
    devices = json.loads(losetup_json).get("loopdevices", [])
    return sorted(
        str(device["name"])
        for device in devices
        if device.get("back-file") and _is_under(str(device["back-file"]).removesuffix(" (deleted)"), root)
    )


def release_under(root: Path) -> list[str]:
    """Unmount and detach everything of one build; returns what was released (for the log)."""
    released = []
    for point in mounts_under(Path("/proc/self/mountinfo").read_text(), root):
        # Lazy, because a killed build may still hold files open under it for a moment.
        if subprocess.run(["umount", "--lazy", point], capture_output=True, check=False).returncode == 0:
            released.append(f"unmounted {point}")
    listed = subprocess.run(["losetup", "--list", "--json"], capture_output=True, text=True, check=False)
    for device in loops_backed_under(listed.stdout if listed.returncode == 0 else "", root):
        if subprocess.run(["losetup", "--detach", device], capture_output=True, check=False).returncode == 0:
            released.append(f"detached {device}")
    return released
