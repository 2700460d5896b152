"""The Backend interface: the only way flows reach hardware.

Small `typing.Protocol`s, one per area, bundled by `Backend`. Three implementations exist: the real Linux
backend (`teeth_agent.backend.linux`), the simulator (`simulator.machine.backend`) and the in-memory one for
tests (`teeth_agent.backend.memory`). Each must pass the contract suite in `tests/contract/`.

Every operation that can take long accepts a `Progress` callback and honours cancellation (asyncio), so a
cancelled task never leaves a tool running. Failures raise the errors of `teeth_agent.backend.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, Protocol

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

# done, total — in whatever unit the operation measures (bytes, or seconds of a drive's own estimate).
Progress = Callable[[float, float], None]

SanitizeAction = Literal["crypto", "block", "overwrite"]
SettingValue = str | int | bool


def no_progress(done: float, total: float) -> None:
    """A Progress sink for callers that do not care."""


class Clock(Protocol):
    """Time as the hardware sees it. The simulator's clock runs faster than the wall."""

    def monotonic(self) -> float: ...

    def time(self) -> float:
        """Seconds since the epoch, for timestamps in certificates and logs."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class BlockHandle(Protocol):
    """An open whole-disk device. Offsets and lengths of writes are multiples of the logical sector size."""

    @property
    def size(self) -> int: ...

    @property
    def alignment(self) -> int:
        """Required alignment of offset, length and (for O_DIRECT) buffer, in bytes."""
        ...

    async def read_at(self, offset: int, length: int) -> bytes: ...

    async def write_at(self, offset: int, data: bytes | memoryview) -> None: ...

    async def flush(self) -> None: ...

    async def close(self) -> None: ...


class Disks(Protocol):
    async def list_disks(self) -> tuple[BlockDevice, ...]:
        """Whole disks this backend may touch (honouring any device allowlist)."""
        ...

    async def refresh_disk(self, path: str) -> BlockDevice:
        """Re-read one disk's identity and state; never trust a previous command's exit code."""
        ...

    # ATA security feature set. Each call re-reads nothing; callers re-read with ata_security().
    async def ata_security(self, path: str) -> AtaSecurity | None: ...

    async def ata_set_password(self, path: str, password: str) -> None: ...

    async def ata_unlock(self, path: str, password: str) -> None: ...

    async def ata_disable_password(self, path: str, password: str) -> None: ...

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None: ...

    # NVMe: format with a secure erase setting (1 user data, 2 crypto) and sanitize.
    async def nvme_format(self, path: str, *, ses: int, progress: Progress) -> None: ...

    async def nvme_sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None: ...


class BlockIO(Protocol):
    async def open_block(self, path: str, *, writable: bool) -> BlockHandle: ...

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        """Discard the whole device (blkdiscard [-s])."""
        ...

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        """Zero the whole device with the write-zeroes offload (blkdiscard -z)."""
        ...

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        """Overwrite the whole device with zeroes using direct, aligned writes."""
        ...

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        """Erase every filesystem/RAID/partition-table signature and both GPT copies; return those found."""
        ...


class Inventories(Protocol):
    async def inventory(self) -> Inventory: ...


class Firmware(Protocol):
    async def firmware_components(self) -> tuple[FirmwareComponent, ...]: ...

    async def apply_firmware(
        self, component_id: str, image_path: str, *, progress: Progress
    ) -> FirmwareUpdateOutcome: ...

    async def bios_settings(self) -> Mapping[str, SettingValue]: ...

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        """Apply settings; return whether a reboot is needed for them to take effect."""
        ...

    async def secure_boot(self) -> bool | None: ...

    async def set_secure_boot(self, enabled: bool) -> bool:
        """Return whether a reboot is needed."""
        ...


class Boot(Protocol):
    async def boot_mode(self) -> BootMode: ...

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        """Create a `config-2` partition at the end of `disk` holding `files`; return the partition path."""
        ...

    async def repair_backup_gpt(self, disk: str) -> bool:
        """Move the backup GPT to the end of a disk larger than the image; return whether one was moved."""
        ...

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall: ...

    async def read_grub_config(self, disk: str) -> str | None:
        """The image's grub.cfg text, or None when there is none."""
        ...

    async def kexec_allowed(self) -> bool: ...

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        """Load a kernel whose paths are relative to the image's root filesystem on `disk`."""
        ...

    async def kexec_exec(self) -> None: ...

    async def reboot(self) -> None: ...

    async def power_off(self) -> None: ...


class Backend(Disks, BlockIO, Inventories, Firmware, Boot, Protocol):
    """Everything the flows may do to a machine."""

    @property
    def name(self) -> str:
        """"linux", "sim" or "memory"; reported in the handshake."""
        ...

    @property
    def clock(self) -> Clock: ...

    async def boot_id(self) -> str:
        """Changes on every boot (reboot or kexec)."""
        ...
