"""Make a disk image file BIOS-bootable with grub, without root or loop devices.

Layout (MBR): sector 0 = grub's boot.img code (440 bytes) + the partition table sfdisk wrote;
sectors 1.. = grub's core.img, whose first sector (diskboot) loads the rest from sector 2 on, which is
where grub-mkimage's default blocklist points; partition 1 starts at 1 MiB and holds an ext4
filesystem with /boot/grub/grub.cfg. core.img carries every module it needs plus an early config that
finds the filesystem by label, so no /boot/grub/i386-pc directory is needed on the disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from testbed import tools

SECTOR = 512
PART_START = 1 << 20
BOOT_CODE_BYTES = 440  # boot.img code; the disk signature and partition table follow
GRUB_DIR = Path("/usr/lib/grub/i386-pc")
GRUB_MODULES = ("biosdisk", "part_msdos", "ext2", "search", "search_label", "normal", "configfile",
                "linux", "echo", "serial", "terminal", "test", "boot")
COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class BootDiskPlan:
    fs_label: str
    part_bytes: int

    @property
    def disk_bytes(self) -> int:
        return PART_START + self.part_bytes

    def sfdisk_script(self) -> str:
        start, size = PART_START // SECTOR, self.part_bytes // SECTOR
        return f"label: dos\nstart={start}, size={size}, type=83, bootable\n"

    def early_config(self) -> str:
        return (f"search --no-floppy --label {self.fs_label} --set=root\n"
                "set prefix=($root)/boot/grub\n")


def grub_core(plan: BootDiskPlan, workdir: Path) -> bytes:
    if not (GRUB_DIR / "boot.img").is_file():
        raise tools.ToolError(f"{GRUB_DIR}/boot.img not found: install Debian package grub-pc-bin")
    early = workdir / "early.cfg"
    early.write_text(plan.early_config())
    core = workdir / "core.img"
    tools.run(["grub-mkimage", "-O", "i386-pc", "-d", str(GRUB_DIR), "-o", str(core), "-c", str(early),
               "-p", "/boot/grub", *GRUB_MODULES])
    data = core.read_bytes()
    if len(data) > PART_START - SECTOR:
        raise tools.ToolError(f"grub core.img is {len(data)} bytes: too big for the gap before partition 1")
    return data


def assemble(disk: Path, plan: BootDiskPlan, filesystem: Path, workdir: Path) -> None:
    """Write a bootable disk image: MBR + grub + the filesystem image as partition 1."""
    fs_size = filesystem.stat().st_size
    if fs_size != plan.part_bytes:
        raise ValueError(f"{filesystem} is {fs_size} bytes, the plan wants {plan.part_bytes}")
    with disk.open("wb") as f:
        f.truncate(plan.disk_bytes)
    tools.run(["sfdisk", "--no-reread", "--no-tell-kernel", str(disk)], stdin=plan.sfdisk_script())
    core = grub_core(plan, workdir)
    boot_code = (GRUB_DIR / "boot.img").read_bytes()[:BOOT_CODE_BYTES]
    with disk.open("r+b") as out:
        out.write(boot_code)
        out.seek(SECTOR)
        out.write(core)
        out.seek(PART_START)
        with filesystem.open("rb") as src:
            _copy_sparse(src, out)


def _copy_sparse(src: BinaryIO, out: BinaryIO) -> None:
    """Copy keeping holes: the destination is already sized and zero, so skip all-zero chunks."""
    zero = bytes(COPY_CHUNK)
    while chunk := src.read(COPY_CHUNK):
        if chunk == zero[: len(chunk)]:
            out.seek(len(chunk), os.SEEK_CUR)
        else:
            out.write(chunk)
