"""Stand-ins for the Linux backend areas not built yet (firmware, boot): each operation says so.

They exist so LinuxBackend is a complete Backend today; the real modules replace them one area at a time
through LinuxBackend's constructor, and flows get a clear `Unsupported` instead of an AttributeError.
"""

from __future__ import annotations

from collections.abc import Mapping

from teeth_agent.backend.api import Progress, SettingValue
from teeth_agent.backend.errors import Unsupported
from teeth_agent.backend.types import (
    BootloaderInstall,
    BootMode,
    FirmwareComponent,
    FirmwareUpdateOutcome,
    Inventory,
    KexecTarget,
)


def _missing(what: str) -> Unsupported:
    return Unsupported(f"{what} is not implemented on the Linux backend yet")


class PendingInventory:
    async def inventory(self) -> Inventory:
        raise _missing("inventory")


class PendingFirmware:
    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        raise _missing("firmware inventory")

    async def apply_firmware(self, component_id: str, image_path: str, *, progress: Progress
                             ) -> FirmwareUpdateOutcome:
        raise _missing("firmware update")

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        raise _missing("BIOS settings")

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        raise _missing("BIOS settings")

    async def secure_boot(self) -> bool | None:
        raise _missing("Secure Boot state")

    async def set_secure_boot(self, enabled: bool) -> bool:
        raise _missing("Secure Boot")


class PendingBoot:
    async def boot_mode(self) -> BootMode:
        raise _missing("boot mode")

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        raise _missing("config drive")

    async def repair_backup_gpt(self, disk: str) -> bool:
        raise _missing("backup GPT repair")

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        raise _missing("bootloader install")

    async def read_grub_config(self, disk: str) -> str | None:
        raise _missing("grub config")

    async def kexec_allowed(self) -> bool:
        raise _missing("kexec")

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        raise _missing("kexec")

    async def kexec_exec(self) -> None:
        raise _missing("kexec")

    async def reboot(self) -> None:
        raise _missing("reboot")

    async def power_off(self) -> None:
        raise _missing("power off")
