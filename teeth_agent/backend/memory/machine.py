"""The machine a MemoryBackend stands for, as plain data a test builds, reads and changes.

Everything here is a mutable record of the hardware's state; the backend reads it to answer and changes
it as the real hardware would. A test asserts on it directly (`machine.disks["/dev/sda"].ata`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.api import SettingValue
from teeth_agent.backend.memory.contents import DiskBytes, SparseBytes
from teeth_agent.backend.types import (
    AtaSecurity,
    BlockDevice,
    BootloaderInstall,
    BootMode,
    Cpu,
    DmiInfo,
    FirmwareComponent,
    KexecTarget,
    Nic,
)


@dataclass
class MemoryDisk:
    """One whole disk: what `list_disks` reports (`device`), its bytes, its ATA security state."""

    device: BlockDevice
    data: DiskBytes
    # The ATA security state as the drive reports it now (the device's own field is ignored), and the
    # password it was set with.
    ata: AtaSecurity | None = None
    password: str | None = None
    # How long a whole-disk operation (an erase, an overwrite) takes on the machine's clock.
    erase_seconds: float = 4.0
    # The image's grub.cfg, once an image with one is on the disk.
    grub_cfg: str | None = None
    config_drive: dict[str, bytes] | None = None

    def __post_init__(self) -> None:
        if self.data.size != self.device.size:
            raise ValueError(
                f"{self.device.path}: {self.data.size} bytes of data for a {self.device.size}-byte disk"
            )
        if self.ata is None:
            self.ata = self.device.ata_security

    @property
    def path(self) -> str:
        return self.device.path

    def reported(self) -> BlockDevice:
        return dataclasses.replace(self.device, ata_security=self.ata)


def memory_disk(
    path: str,
    size: int,
    *,
    fill: int | None = 0,
    data: DiskBytes | None = None,
    ata: AtaSecurity | None = None,
    password: str | None = None,
    **device: Any,
) -> MemoryDisk:
    """A disk whose unwritten bytes read as `fill`; other keywords are BlockDevice fields."""
    device.setdefault("serial", f"MEM-{path.rsplit('/', 1)[-1]}")
    dev = BlockDevice(path=path, size=size, ata_security=ata, **device)
    return MemoryDisk(dev, data if data is not None else SparseBytes(size, fill), ata, password)


def _default_image_version(image: bytes) -> str | None:
    """Images made by `firmware_image`: a first line `TEETH-FIRMWARE <version>`."""
    head, _, _ = image.partition(b"\n")
    magic, _, version = head.partition(b" ")
    return version.decode() if magic == b"TEETH-FIRMWARE" and version else None


def firmware_image(version: str, body: bytes = b"") -> bytes:
    """An image the default firmware model accepts, installing `version`."""
    return b"TEETH-FIRMWARE " + version.encode() + b"\n" + body


@dataclass
class MemoryFirmware:
    components: dict[str, FirmwareComponent] = field(default_factory=dict)
    # Which version an image installs; None rejects the image (the flash fails, nothing changes).
    image_version: Callable[[bytes], str | None] = _default_image_version
    # Components whose new version takes effect only at the next reboot.
    applies_on_reboot: set[str] = field(default_factory=set)
    bios: dict[str, SettingValue] = field(default_factory=dict)
    bios_applies_on_reboot: bool = False
    secure_boot: bool | None = False
    # What waits for the next reboot: component versions and BIOS settings.
    pending_versions: dict[str, str] = field(default_factory=dict)
    pending_bios: dict[str, SettingValue] = field(default_factory=dict)


@dataclass
class MemoryMachine:
    disks: dict[str, MemoryDisk] = field(default_factory=dict)
    dmi: DmiInfo = field(
        default_factory=lambda: DmiInfo(manufacturer="teeth", product="memory machine", serial="MEM-0001")
    )
    cpu: Cpu = field(default_factory=lambda: Cpu(model="memory cpu", cores=2, threads=4))
    memory_mib: int = 4096
    nics: tuple[Nic, ...] = (Nic("eth0", "52:54:00:00:00:01", link=True, speed_mbps=1000),)
    boot_mode: BootMode = BootMode.UEFI
    firmware: MemoryFirmware = field(default_factory=MemoryFirmware)
    kexec_allowed: bool = True
    # Boot state: the count goes up on every reboot or kexec (and so does boot_id).
    boots: int = 1
    bootloaders: list[BootloaderInstall] = field(default_factory=list)
    kexec_loaded: KexecTarget | None = None
    powered_on: bool = True

    @classmethod
    def of(cls, *disks: MemoryDisk, **fields: Any) -> MemoryMachine:
        return cls({d.path: d for d in disks}, **fields)
