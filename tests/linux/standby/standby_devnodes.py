"""Partition nodes in the tests' private /dev, as devtmpfs would keep them.

The namespace harness (tests/linux/nsexec.py) gives the backend a tmpfs /dev holding only the loop devices'
nodes. On a real machine /dev is devtmpfs, where the kernel itself creates `loop5p1` the moment a partition
appears (partprobe/BLKPG) and removes it when it goes; grub-install, mount and kexec rely on that. A tmpfs
does not do it, so `DevtmpfsRunner` does: around every tool the backend runs, it makes /dev's `<disk>pN`
nodes match the kernel's partitions of the *allowed* disks, reading each partition's device number from
sysfs at that moment (never a remembered one: partition minors are reused, and a stale node could name
another disk's partition).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from teeth_agent.backend.linux.exec import Result, Runner

SYS_BLOCK = Path("/sys/class/block")


def kernel_partitions(disk: str) -> dict[str, int]:
    """The kernel's current partitions of /dev/<disk>: node name -> device number, from sysfs."""
    name = os.path.basename(disk)
    found: dict[str, int] = {}
    for child in (SYS_BLOCK / name).iterdir():
        dev = child / "dev"
        if child.name.startswith(name + "p") and dev.is_file():
            major, minor = dev.read_text().strip().split(":")
            found[child.name] = os.makedev(int(major), int(minor))
    return found


def sync_partition_nodes(disks: Iterable[str], dev: Path = Path("/dev")) -> None:
    for disk in disks:
        name = os.path.basename(disk)
        wanted = kernel_partitions(disk)
        for entry in os.listdir(dev):
            node = dev / entry
            if entry.startswith(name + "p") and (entry not in wanted or node.stat().st_rdev != wanted[entry]):
                node.unlink()
        for entry, rdev in wanted.items():
            if not (dev / entry).exists():
                os.mknod(dev / entry, stat.S_IFBLK | 0o600, rdev)


class DevtmpfsRunner:
    """A Runner that keeps the allowed disks' partition nodes current before and after every tool."""

    def __init__(self, inner: Runner, disks: Sequence[str]) -> None:
        self._inner = inner
        self._disks = tuple(disks)

    async def run(
        self, argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
    ) -> Result:
        sync_partition_nodes(self._disks)
        try:
            return await self._inner.run(argv, timeout=timeout, input=input, check=check)
        finally:
            sync_partition_nodes(self._disks)


class NoKexecRunner:
    """Runs every tool for real except `kexec` and `efibootmgr`, which are only recorded (kexec with what
    the files it names held at that moment).

    The host's kernel must never get a kernel loaded (let alone executed), and its firmware's boot
    entries are not ours to change; the backend's search for the kernel, its mounts and its argv are what
    the tests check.
    """

    def __init__(self, inner: Runner) -> None:
        self._inner = inner
        self.kexec_calls: list[dict[str, object]] = []
        self.efibootmgr_calls: list[list[str]] = []

    async def run(
        self, argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
    ) -> Result:
        tool = os.path.basename(argv[0])
        if tool == "kexec":
            self.kexec_calls.append({"argv": list(argv), "files": _files_named(argv)})
            return Result("", "", 0)
        if tool == "efibootmgr":
            self.efibootmgr_calls.append(list(argv))
            return Result("", "", 0)
        return await self._inner.run(argv, timeout=timeout, input=input, check=check)


def _files_named(argv: Sequence[str]) -> dict[str, str]:
    """The content of every existing file an argument names (kernel, --initrd=...), read while mounted."""
    out: dict[str, str] = {}
    for arg in argv[1:]:
        path = arg.split("=", 1)[-1] if arg.startswith("--") else arg
        if path.startswith("/") and os.path.isfile(path):
            out[path] = Path(path).read_text(errors="replace")
    return out


def is_partition_node(entry: str, disks: Iterable[str]) -> bool:
    return any(entry.startswith(os.path.basename(d) + "p") and entry[len(os.path.basename(d)) + 1:].isdigit()
               for d in disks)

