"""LinuxBackend: the real Backend, composed from one object per area over one subprocess Runner.

Disks and block I/O are built here; inventory, firmware and boot are passed in (the `pending` stand-ins
raise Unsupported until their modules exist), so each area can be added without touching the others.
Every method is an explicit delegation, so the type checker follows each call to the module doing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path

from teeth_agent.backend.api import Boot, Clock, Firmware, Inventories, Progress, SanitizeAction, SettingValue
from teeth_agent.backend.clock import SystemClock
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.ata_ops import AtaOps
from teeth_agent.backend.linux.blockdev import BlockOps
from teeth_agent.backend.linux.direct_handle import DirectHandle
from teeth_agent.backend.linux.disks import DiskLister
from teeth_agent.backend.linux.exec import Runner, SubprocessRunner
from teeth_agent.backend.linux.nvme_ops import NvmeOps
from teeth_agent.backend.linux.qemu_img import QemuImgConverter
from teeth_agent.backend.linux.unsupported import PendingBoot, PendingFirmware, PendingInventory
from teeth_agent.backend.types import (
    AtaSecurity,
    BlockDevice,
    BootloaderInstall,
    BootMode,
    FirmwareComponent,
    FirmwareUpdateOutcome,
    Inventory,
    KexecTarget,
)

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class LinuxBackend:
    def __init__(
        self,
        *,
        only_devices: Iterable[str] | None = None,
        runner: Runner | None = None,
        clock: Clock | None = None,
        inventory: Inventories | None = None,
        firmware: Firmware | None = None,
        boot: Boot | None = None,
    ) -> None:
        self._runner = runner or SubprocessRunner()
        self._clock = clock or SystemClock()
        guard = self._guard = DeviceGuard(only_devices)
        self._qemu_img = QemuImgConverter(self._runner)
        self._disks = DiskLister(self._runner, guard)
        self._ata = AtaOps(self._runner, guard, self._clock)
        self._nvme = NvmeOps(self._runner, guard, self._clock)
        self._block = BlockOps(self._runner, guard)
        self._inventory: Inventories = inventory or PendingInventory()
        self._firmware: Firmware = firmware or PendingFirmware()
        self._boot: Boot = boot or PendingBoot()

    @property
    def name(self) -> str:
        return "linux"

    @property
    def clock(self) -> Clock:
        return self._clock

    async def boot_id(self) -> str:
        return (await asyncio.to_thread(BOOT_ID.read_text)).strip()

    # Disks
    async def list_disks(self) -> tuple[BlockDevice, ...]:
        return await self._disks.list_disks()

    async def refresh_disk(self, path: str) -> BlockDevice:
        return await self._disks.refresh_disk(path)

    async def ata_security(self, path: str) -> AtaSecurity | None:
        return await self._ata.security(path)

    async def ata_set_password(self, path: str, password: str) -> None:
        await self._ata.set_password(path, password)

    async def ata_unlock(self, path: str, password: str) -> None:
        await self._ata.unlock(path, password)

    async def ata_disable_password(self, path: str, password: str) -> None:
        await self._ata.disable_password(path, password)

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None:
        await self._ata.erase(path, password, enhanced=enhanced, progress=progress)

    async def nvme_format(self, path: str, *, ses: int, progress: Progress) -> None:
        await self._nvme.format(path, ses=ses, progress=progress)

    async def nvme_sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None:
        await self._nvme.sanitize(path, action=action, progress=progress)

    # BlockIO
    async def open_block(self, path: str, *, writable: bool) -> DirectHandle:
        return await self._block.open_block(path, writable=writable)

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        await self._block.discard(path, secure=secure, progress=progress)

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        await self._block.write_zeroes(path, progress=progress)

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        await self._block.overwrite(path, progress=progress)

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        return await self._block.wipe_signatures(path)

    async def convert_qcow2(
        self, source: str, offset: int, length: int, target: str, *, progress: Progress
    ) -> None:
        """images.convert.ImageConverter: the qcow2 at source[offset:offset+length] -> raw on target."""
        source, target = self._guard.check(source), self._guard.check(target)
        await self._qemu_img.convert_qcow2(source, offset, length, target, progress=progress)

    # Inventory, firmware, boot: delegated to the area objects given at construction.
    async def inventory(self) -> Inventory:
        return await self._inventory.inventory()

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        return await self._firmware.firmware_components()

    async def apply_firmware(self, component_id: str, image_path: str, *, progress: Progress
                             ) -> FirmwareUpdateOutcome:
        return await self._firmware.apply_firmware(component_id, image_path, progress=progress)

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        return await self._firmware.bios_settings()

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        return await self._firmware.apply_bios_settings(settings)

    async def secure_boot(self) -> bool | None:
        return await self._firmware.secure_boot()

    async def set_secure_boot(self, enabled: bool) -> bool:
        return await self._firmware.set_secure_boot(enabled)

    async def boot_mode(self) -> BootMode:
        return await self._boot.boot_mode()

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        return await self._boot.write_config_drive(disk, files)

    async def repair_backup_gpt(self, disk: str) -> bool:
        return await self._boot.repair_backup_gpt(disk)

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        return await self._boot.install_bootloader(disk, mode)

    async def read_grub_config(self, disk: str) -> str | None:
        return await self._boot.read_grub_config(disk)

    async def kexec_allowed(self) -> bool:
        return await self._boot.kexec_allowed()

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        await self._boot.kexec_load(disk, target)

    async def kexec_exec(self) -> None:
        await self._boot.kexec_exec()

    async def reboot(self) -> None:
        await self._boot.reboot()

    async def power_off(self) -> None:
        await self._boot.power_off()
