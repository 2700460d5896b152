"""Assemble the whole Linux backend: disks and block I/O, inventory, firmware and boot."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.bootloader import LinuxBoot
from teeth_agent.backend.linux.disks import DiskLister
from teeth_agent.backend.linux.exec import Runner, SubprocessRunner
from teeth_agent.backend.linux.firmware import LinuxFirmware
from teeth_agent.backend.linux.inventory import LinuxInventory


def make_linux_backend(
    *, only_devices: Iterable[str] | None = None, runner: Runner | None = None, root: Path = Path("/")
) -> LinuxBackend:
    runner = runner or SubprocessRunner()
    allowed = None if only_devices is None else tuple(only_devices)
    inventory = LinuxInventory(root, DiskLister(runner, DeviceGuard(allowed)).list_disks)
    return LinuxBackend(
        only_devices=allowed,
        runner=runner,
        inventory=inventory,
        firmware=LinuxFirmware(runner, inventory, root),
        boot=LinuxBoot(runner, DeviceGuard(allowed), root),
    )
