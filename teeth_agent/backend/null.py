"""A backend with an empty machine: no disks, no firmware, nothing to boot.

It lets the agent's runtime (connection, handshake, ping, status, tasks, logs) run anywhere without
touching hardware, until the simulator is at hand. Every hardware operation raises Unsupported.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from teeth_agent.backend.api import Backend, BlockHandle, Clock, Progress, SanitizeAction, SettingValue
from teeth_agent.backend.clock import SystemClock
from teeth_agent.backend.errors import DeviceNotFound, Unsupported
from teeth_agent.backend.types import (
    AtaSecurity,
    BlockDevice,
    BootloaderInstall,
    BootMode,
    Cpu,
    DmiInfo,
    FirmwareComponent,
    FirmwareUpdateOutcome,
    Inventory,
    KexecTarget,
)

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


class NullBackend:
    def __init__(self, *, serial: str | None = None, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._serial = serial
        try:
            self._boot_id = BOOT_ID_PATH.read_text().strip()
        except OSError:
            self._boot_id = str(uuid.uuid4())

    @property
    def name(self) -> str:
        return "null"

    @property
    def clock(self) -> Clock:
        return self._clock

    async def boot_id(self) -> str:
        return self._boot_id

    async def inventory(self) -> Inventory:
        return Inventory(
            dmi=DmiInfo(serial=self._serial),
            cpu=Cpu(model="unknown", cores=0, threads=0),
            memory_mib=0,
            disks=(),
            nics=(),
            boot_mode=BootMode.BIOS,
        )

    # Disks and block I/O: there are none.
    async def list_disks(self) -> tuple[BlockDevice, ...]:
        return ()

    async def refresh_disk(self, path: str) -> BlockDevice:
        raise DeviceNotFound(f"{path}: the null backend has no disks")

    async def ata_security(self, path: str) -> AtaSecurity | None:
        raise DeviceNotFound(f"{path}: the null backend has no disks")

    async def ata_set_password(self, path: str, password: str) -> None:
        raise DeviceNotFound(path)

    async def ata_unlock(self, path: str, password: str) -> None:
        raise DeviceNotFound(path)

    async def ata_disable_password(self, path: str, password: str) -> None:
        raise DeviceNotFound(path)

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def nvme_format(self, path: str, *, ses: int, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def nvme_sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def open_block(self, path: str, *, writable: bool) -> BlockHandle:
        raise DeviceNotFound(path)

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        raise DeviceNotFound(path)

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        raise DeviceNotFound(path)

    # Firmware: nothing to update.
    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        return ()

    async def apply_firmware(
        self, component_id: str, image_path: str, *, progress: Progress
    ) -> FirmwareUpdateOutcome:
        raise Unsupported("the null backend has no firmware")

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        return {}

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        raise Unsupported("the null backend has no BIOS")

    async def secure_boot(self) -> bool | None:
        return None

    async def set_secure_boot(self, enabled: bool) -> bool:
        raise Unsupported("the null backend has no Secure Boot")

    # Boot: refuses everything.
    async def boot_mode(self) -> BootMode:
        return BootMode.BIOS

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        raise DeviceNotFound(disk)

    async def repair_backup_gpt(self, disk: str) -> bool:
        raise DeviceNotFound(disk)

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        raise DeviceNotFound(disk)

    async def read_grub_config(self, disk: str) -> str | None:
        raise DeviceNotFound(disk)

    async def kexec_allowed(self) -> bool:
        return False

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        raise Unsupported("the null backend cannot kexec")

    async def kexec_exec(self) -> None:
        raise Unsupported("the null backend cannot kexec")

    async def reboot(self) -> None:
        raise Unsupported("the null backend cannot reboot")

    async def power_off(self) -> None:
        raise Unsupported("the null backend cannot power off")


def _conforms(backend: NullBackend) -> Backend:
    return backend  # mypy checks here that NullBackend is a Backend
