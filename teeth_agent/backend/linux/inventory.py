"""Linux inventory from sysfs and procfs: DMI, CPU, memory, NICs, boot mode and Secure Boot.

Everything is read below `root` (normally "/"), so tests build a small tree instead of faking calls, and
nothing here starts a process: /sys/class/dmi/id carries what dmidecode would print for these fields.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from teeth_agent.backend.linux.lockdown import read_lockdown
from teeth_agent.backend.linux.network_report import REPORT_PATH, read_report
from teeth_agent.backend.linux.procfs import parse_cpuinfo, parse_meminfo
from teeth_agent.backend.types import BlockDevice, BootMode, DmiInfo, Inventory, Nic

# The EFI global variable GUID; SecureBoot's value is one byte after 4 bytes of attributes.
_SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-e5f0a3f4b0b2"
# DMI fields vendors leave unset read back as one of these placeholders.
_PLACEHOLDERS = frozenset({"", "to be filled by o.e.m.", "default string", "not specified", "none"})


class LinuxInventory:
    def __init__(self, root: Path, list_disks: Callable[[], Awaitable[tuple[BlockDevice, ...]]]) -> None:
        self._root = root
        self._list_disks = list_disks

    def _read(self, relative: str) -> str | None:
        try:
            return (self._root / relative).read_text(errors="replace").strip()
        except OSError:
            return None

    def dmi(self) -> DmiInfo:
        def field(name: str) -> str | None:
            value = self._read(f"sys/class/dmi/id/{name}")
            return None if value is None or value.lower() in _PLACEHOLDERS else value

        return DmiInfo(
            manufacturer=field("sys_vendor"),
            product=field("product_name"),
            serial=field("product_serial"),
            uuid=field("product_uuid"),
            baseboard_manufacturer=field("board_vendor"),
            baseboard_product=field("board_name"),
            baseboard_serial=field("board_serial"),
            bios_vendor=field("bios_vendor"),
            bios_version=field("bios_version"),
            bios_date=field("bios_date"),
        )

    def nics(self) -> tuple[Nic, ...]:
        net = self._root / "sys/class/net"
        try:
            names = sorted(os.listdir(net))
        except OSError:
            return ()
        found = []
        for name in names:
            # Only interfaces backed by a device are NICs; lo, bridges, bonds and tunnels are not.
            if not (net / name / "device").exists():
                continue
            speed = self._read(f"sys/class/net/{name}/speed")
            driver_link = net / name / "device" / "driver"
            found.append(
                Nic(
                    name=name,
                    mac=self._read(f"sys/class/net/{name}/address") or "",
                    link=self._read(f"sys/class/net/{name}/carrier") == "1",
                    speed_mbps=int(speed) if speed and speed.isdigit() else None,
                    driver=os.path.basename(os.readlink(driver_link)) if driver_link.is_symlink() else None,
                )
            )
        return tuple(found)

    def boot_mode(self) -> BootMode:
        return BootMode.UEFI if (self._root / "sys/firmware/efi").is_dir() else BootMode.BIOS

    def secure_boot(self) -> bool | None:
        if self.boot_mode() is not BootMode.UEFI:
            return None
        try:
            raw = (self._root / "sys/firmware/efi/efivars" / _SECURE_BOOT_VAR).read_bytes()
        except OSError:
            return None
        return len(raw) >= 5 and raw[4] == 1

    def network(self) -> dict[str, Any] | None:
        """The plan teeth-agent-netconfig wrote at boot, with each link it waited for and its state now."""
        report = read_report(self._root / str(REPORT_PATH).lstrip("/"))
        if report is None:
            return None
        names = report.get("wait_for")
        planned = [n for n in names if isinstance(n, str) and "/" not in n] if isinstance(names, list) else []
        report["state"] = {n: self._read(f"sys/class/net/{n}/operstate") or "absent" for n in planned}
        return report

    async def inventory(self) -> Inventory:
        cpuinfo = self._read("proc/cpuinfo")
        meminfo = self._read("proc/meminfo")
        if cpuinfo is None or meminfo is None:
            raise FileNotFoundError(f"{self._root}/proc is not mounted: cannot read cpuinfo/meminfo")
        return Inventory(
            dmi=self.dmi(),
            cpu=parse_cpuinfo(cpuinfo, architecture=os.uname().machine),
            memory_mib=parse_meminfo(meminfo),
            disks=await self._list_disks(),
            nics=self.nics(),
            boot_mode=self.boot_mode(),
            secure_boot=self.secure_boot(),
            network=self.network(),
            lockdown=read_lockdown(self._root),
        )
