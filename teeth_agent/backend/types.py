"""Frozen value types the Backend hands to the flows.

Every backend (Linux, simulator) returns exactly these; flows never see tool output or model objects.
Sizes are bytes, durations seconds, unless a name says otherwise.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Transport(enum.StrEnum):
    SATA = "sata"
    SAS = "sas"
    NVME = "nvme"
    VIRTIO = "virtio"
    USB = "usb"
    LOOP = "loop"
    OTHER = "other"


@dataclass(frozen=True)
class AtaSecurity:
    """ATA security feature set as the drive reports it (hdparm -I "Security:" section)."""

    supported: bool
    enabled: bool = False
    locked: bool = False
    frozen: bool = False
    count_expired: bool = False
    enhanced_erase_supported: bool = False
    erase_minutes: int | None = None
    enhanced_erase_minutes: int | None = None


@dataclass(frozen=True)
class SanitizeCaps:
    crypto: bool = False
    block: bool = False
    overwrite: bool = False


@dataclass(frozen=True)
class NvmeCaps:
    """What an NVMe controller can do to erase (nvme id-ctrl OACS/FNA/SANICAP)."""

    format_supported: bool
    crypto_erase_supported: bool = False
    # FNA bit 0/1: format/erase applies to all namespaces rather than one.
    format_applies_to_all_namespaces: bool = False
    crypto_erase_applies_to_all_namespaces: bool = False
    sanitize: SanitizeCaps = field(default_factory=SanitizeCaps)
    # Active namespaces on the controller, counted by the OS whatever an allowlist hides; None if unknown.
    # Controller-wide operations (FNA format, sanitize) reach all of them.
    namespace_count: int | None = None


@dataclass(frozen=True)
class BlockDevice:
    """A whole disk with the identity an erase certificate needs."""

    path: str
    size: int
    serial: str | None = None
    model: str | None = None
    wwn: str | None = None
    logical_sector_size: int = 512
    physical_sector_size: int = 512
    rotational: bool = False
    transport: Transport = Transport.OTHER
    read_only: bool = False
    removable: bool = False
    # Guards the erase planner must honour; the backend fills them from what it can see.
    raid_member: bool = False
    fs_signatures: tuple[str, ...] = ()
    is_boot_medium: bool = False
    # Offload facts: discard support and whether discarded blocks read back as zeroes.
    discard_supported: bool = False
    discard_zeroes: bool = False
    write_zeroes_supported: bool = False
    # None when the disk has no ATA security section or sits behind a bridge that hides it.
    ata_security: AtaSecurity | None = None
    ata_security_hidden_by_bridge: bool = False
    nvme: NvmeCaps | None = None
    firmware_version: str | None = None

    @property
    def identity(self) -> dict[str, object]:
        return {
            "path": self.path,
            "serial": self.serial,
            "model": self.model,
            "wwn": self.wwn,
            "size": self.size,
            "logical_sector_size": self.logical_sector_size,
        }


@dataclass(frozen=True)
class DmiInfo:
    manufacturer: str | None = None
    product: str | None = None
    serial: str | None = None
    uuid: str | None = None
    baseboard_manufacturer: str | None = None
    baseboard_product: str | None = None
    baseboard_serial: str | None = None
    bios_vendor: str | None = None
    bios_version: str | None = None
    bios_date: str | None = None


@dataclass(frozen=True)
class Cpu:
    model: str
    cores: int
    threads: int
    sockets: int = 1
    architecture: str = "x86_64"


@dataclass(frozen=True)
class Nic:
    name: str
    mac: str
    link: bool = False
    speed_mbps: int | None = None
    driver: str | None = None
    firmware_version: str | None = None


class BootMode(enum.StrEnum):
    BIOS = "bios"
    UEFI = "uefi"


@dataclass(frozen=True)
class Inventory:
    dmi: DmiInfo
    cpu: Cpu
    memory_mib: int
    disks: tuple[BlockDevice, ...]
    nics: tuple[Nic, ...]
    boot_mode: BootMode
    secure_boot: bool | None = None
    # The network plan the ramdisk came up with (teeth_agent.netconfig's report) and each planned link's
    # state; None where nothing planned one (the simulator, a host without the ramdisk's units).
    network: Mapping[str, Any] | None = None
    # Kernel lockdown: "none", "integrity" or "confidentiality"; None where the kernel has no lockdown LSM.
    lockdown: str | None = None


@dataclass(frozen=True)
class FirmwareComponent:
    """One updatable thing: the BIOS, the BMC, a NIC, a disk's firmware."""

    component: str  # "bios" | "bmc" | "nic" | "disk" | ...
    id: str  # stable within the machine: "bios", "nvme0", "eth0", ...
    vendor: str | None
    model: str | None
    version: str | None
    updatable: bool
    # Why it cannot be updated here (e.g. "no updater for virtual hardware"), when not updatable.
    unsupported_reason: str | None = None


@dataclass(frozen=True)
class FirmwareUpdateOutcome:
    component_id: str
    applied: bool
    reboot_required: bool
    message: str = ""


@dataclass(frozen=True)
class KexecTarget:
    kernel: str
    initrd: str | None
    cmdline: str


@dataclass(frozen=True)
class BootloaderInstall:
    disk: str
    mode: BootMode
    efi_entry: str | None = None
    # UEFI boot entries of earlier tenants' loaders deleted after ours was made, as "Boot0004 (debian)".
    removed_entries: tuple[str, ...] = ()
