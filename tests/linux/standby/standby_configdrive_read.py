"""Read a config drive back from a loop device's backing file, from the host.

With the filesystem in the host kernel (/proc/filesystems) the partition is mounted read-only straight
from the backing file (`mount -o ro,offset=,sizelimit=`); a kernel without iso9660/vfat (some CI VMs) is
read with the userspace tools that understand the same on-disk format (xorriso, mtools).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

KERNEL_FS = {"iso9660": "iso9660", "vfat": "vfat"}


def kernel_can_mount(fstype: str) -> bool:
    names = {line.split()[-1] for line in Path("/proc/filesystems").read_text().splitlines() if line.split()}
    return KERNEL_FS[fstype] in names


def _collect(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _mounted_files(backing: Path, offset: int, size: int, fstype: str) -> dict[str, bytes]:
    where = Path(tempfile.mkdtemp(prefix="cfgdrive-mnt-"))
    try:
        subprocess.run(["mount", "-t", fstype, "-o", f"ro,loop,offset={offset},sizelimit={size}",
                        str(backing), str(where)], check=True, capture_output=True)
        try:
            return _collect(where)
        finally:
            subprocess.run(["umount", str(where)], check=True)
    finally:
        where.rmdir()


def _extracted_files(backing: Path, offset: int, size: int, fstype: str) -> dict[str, bytes]:
    work = Path(tempfile.mkdtemp(prefix="cfgdrive-read-"))
    try:
        part = work / "part.img"
        with backing.open("rb") as src:
            src.seek(offset)
            part.write_bytes(src.read(size))
        out = work / "files"
        out.mkdir()
        if fstype == "iso9660":
            argv = ["xorriso", "-osirrox", "on", "-indev", str(part), "-extract", "/", str(out)]
        else:
            argv = ["mcopy", "-s", "-n", "-i", str(part), "::/", str(out)]
        subprocess.run(argv, check=True, capture_output=True)
        return _collect(out)
    finally:
        shutil.rmtree(work)


def config_drive_files(backing: Path, offset: int, size: int, fstype: str) -> tuple[dict[str, bytes], str]:
    """The files of the filesystem at backing[offset:offset+size], and how they were read."""
    if kernel_can_mount(fstype):
        return _mounted_files(backing, offset, size, fstype), "mount"
    return _extracted_files(backing, offset, size, fstype), "userspace"
