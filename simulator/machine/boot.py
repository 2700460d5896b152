"""Inventory, firmware and boot (config drive, grub, kexec, reboot) on a `SimMachine`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from simulator.machine.disk import SimDisk
from simulator.machine.machine import RunningOs, SimMachine
from simulator.machine.timing import run_timed
from teeth_agent.backend.api import Clock, Progress, SettingValue
from teeth_agent.backend.errors import DeviceRefused, ToolError
from teeth_agent.backend.types import (
    BootloaderInstall,
    BootMode,
    FirmwareComponent,
    FirmwareUpdateOutcome,
    Inventory,
    KexecTarget,
)

_LINUX = re.compile(r"^\s*linux\s+(\S+)\s*(.*)$", re.MULTILINE)


def _instance_uuid(disk: SimDisk) -> str | None:
    files = disk.read_config_drive() or {}
    raw = files.get("openstack/latest/meta_data.json")
    try:
        value = json.loads(raw).get("uuid") if raw else None
    except (ValueError, AttributeError):
        return None
    return str(value) if value is not None else None


class SimInventoryFirmware:
    machine: SimMachine
    _clock: Clock

    async def inventory(self) -> Inventory:
        return self.machine.inventory()

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        return self.machine.firmware.components()

    async def apply_firmware(self, component_id: str, image_path: str, *, progress: Progress
                             ) -> FirmwareUpdateOutcome:
        fw = self.machine.firmware
        spec, version = fw.check_flash(component_id, image_path)
        await run_timed(self._clock, spec.flash_seconds, progress)
        reboot = fw.finish_flash(spec, version)
        if not reboot:
            for disk in self.machine.disks.values():
                if disk.spec.name.startswith(component_id):
                    disk.set_firmware_version(version)
        when = "at the next reboot" if reboot else "now"
        return FirmwareUpdateOutcome(component_id, applied=True, reboot_required=reboot,
                                     message=f"{component_id}: version {version} takes effect {when}")

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        return dict(self.machine.firmware.settings)

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        return self.machine.firmware.apply_settings(dict(settings))

    async def secure_boot(self) -> bool | None:
        return self.machine.firmware.secure_boot

    async def set_secure_boot(self, enabled: bool) -> bool:
        return self.machine.firmware.set_secure_boot(enabled)


class SimBoot:
    machine: SimMachine
    _clock: Clock

    async def boot_mode(self) -> BootMode:
        return BootMode(self.machine.profile.boot_mode)

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        d = self.machine.disk(disk)
        if d.spec.read_only:
            raise DeviceRefused(f"{disk}: Read-only file system")
        d.write_config_drive(dict(files))
        header = d.image_header()
        number = (header.partitions if header else 0) + 1
        return f"{d.path}p{number}" if d.spec.transport == "nvme" else f"{d.path}{number}"

    async def repair_backup_gpt(self, disk: str) -> bool:
        header = self.machine.disk(disk).image_header()
        return header is not None and header.size < self.machine.disk(disk).spec.size

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        d = self.machine.disk(disk)
        target = "x86_64-efi" if mode == BootMode.UEFI else "i386-pc"
        argv = ["grub-install", f"--target={target}", d.path]
        if d.image_header() is None:
            raise ToolError(argv, 1, f"grub-install: error: {d.path}: unknown filesystem.\n")
        if mode == BootMode.UEFI and self.machine.profile.boot_mode != "uefi":
            raise ToolError(argv, 1, "grub-install: error: cannot find EFI directory.\n")
        self.machine.bootloaders[d.path] = mode
        return BootloaderInstall(d.path, mode, efi_entry="Boot0001" if mode == BootMode.UEFI else None)

    async def read_grub_config(self, disk: str) -> str | None:
        header = self.machine.disk(disk).image_header()
        return None if header is None else header.grub_cfg

    async def kexec_allowed(self) -> bool:
        return self.machine.profile.kexec_allowed

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        d = self.machine.disk(disk)
        argv = ["kexec", "-l", target.kernel, f"--append={target.cmdline}"]
        if not self.machine.profile.kexec_allowed:
            raise ToolError(argv, 1, "kexec_file_load failed: Operation not permitted\n")
        header = d.image_header()
        files = header.files if header else ()
        for path in (target.kernel, target.initrd):
            if path is not None and path not in files:
                raise ToolError(argv, 1, f"Cannot open `{path}': No such file or directory\n")
        self.machine.kexec_loaded = (d.path, target)

    async def kexec_exec(self) -> None:
        """Boot the loaded kernel. Returns (the sim cannot stop its caller); machine.running says tenant."""
        if self.machine.kexec_loaded is None:
            raise ToolError(["kexec", "-e"], 1, "Nothing has been loaded!\n")
        path, target = self.machine.kexec_loaded
        d = self.machine.disk(path)
        header = d.image_header()
        self.machine.kexec(RunningOs("tenant", "kexec", d.path, header.name if header else None,
                                     target.kernel, target.cmdline, _instance_uuid(d)))

    def _bootable(self) -> RunningOs | None:
        for path in self.machine.bootloaders:
            d = self.machine.disk(path)
            header = d.image_header()
            if header is None:
                continue
            m = _LINUX.search(header.grub_cfg)
            kernel, cmdline = (m.group(1), m.group(2).strip()) if m else (None, None)
            return RunningOs("tenant", "reboot", d.path, header.name, kernel, cmdline, _instance_uuid(d))
        return None

    async def reboot(self) -> None:
        self.machine.reboot(self._bootable())

    async def power_off(self) -> None:
        self.machine.power_off()
