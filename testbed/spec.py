"""The declarative description of one testbed VM.

Pure values: no libvirt, no files. `domain_xml.render` turns a `VmSpec` into libvirt XML; the harness
turns its disks into image files. Every constructor validates, so a bad spec fails where it is written,
naming the field, instead of as an obscure libvirt or QEMU error at boot.
"""

from __future__ import annotations

import ipaddress
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class SpecError(ValueError):
    """A VM spec that cannot describe a VM; the message names the field."""


class Bus(Enum):
    SATA = "sata"
    VIRTIO = "virtio"
    NVME = "nvme"


class DomainType(Enum):
    KVM = "kvm"
    TCG = "qemu"  # libvirt's name for plain emulation


_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_SERIAL_RE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")  # NVMe serials are at most 20 bytes
MIB = 1 << 20


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise SpecError(message)


@dataclass(frozen=True)
class DiskSpec:
    """One virtual disk; `name` also names its image file (`<vm>-<name>.img`)."""

    name: str
    bus: Bus
    size_bytes: int
    serial: str
    logical_block_size: int = 512
    physical_block_size: int | None = None

    def __post_init__(self) -> None:
        _require(bool(_NAME_RE.match(self.name)), f"disk name {self.name!r}: use [a-z][a-z0-9-]*")
        _require(bool(_SERIAL_RE.match(self.serial)), f"disk {self.name}: serial {self.serial!r} invalid")
        _require(self.logical_block_size in (512, 4096),
                 f"disk {self.name}: logical_block_size must be 512 or 4096")
        _require(self.physical >= self.logical_block_size and self.physical in (512, 4096),
                 f"disk {self.name}: physical_block_size must be 512 or 4096 and >= logical")
        # QEMU's AHCI disks refuse 4K logical sectors: a SATA "4K" disk is 512e (physical 4096).
        _require(self.bus is not Bus.SATA or self.logical_block_size == 512,
                 f"disk {self.name}: SATA disks need logical_block_size 512 (use physical_block_size 4096)")
        _require(self.size_bytes >= MIB and self.size_bytes % MIB == 0,
                 f"disk {self.name}: size_bytes must be a positive multiple of 1 MiB")

    @property
    def physical(self) -> int:
        return self.physical_block_size or self.logical_block_size


@dataclass(frozen=True)
class Smbios:
    """SMBIOS strings the guest's dmidecode reports (what `decom.qc` checks)."""

    system_manufacturer: str = "Teeth Testbed"
    system_product: str = "TB-1"
    system_version: str = "1.0"
    system_serial: str = "TB0000001"
    system_sku: str = "TB-1-STD"
    system_family: str = "Testbed"
    baseboard_manufacturer: str = "Teeth Testbed"
    baseboard_product: str = "TB-MB-1"
    baseboard_version: str = "1.0"
    baseboard_serial: str = "MB0000001"
    baseboard_asset: str = "ASSET-0001"
    bios_vendor: str = "SeaBIOS"
    bios_version: str = "1.16.2-tb"
    bios_date: str = "04/01/2024"

    def __post_init__(self) -> None:
        for key, value in vars(self).items():
            _require(isinstance(value, str) and value.isprintable() and 0 < len(value) <= 64,
                     f"smbios {key}: must be 1-64 printable characters")


@dataclass(frozen=True)
class GuestForward:
    """Guest TCP connections to guest_ip:guest_port reach 127.0.0.1:host_port on the host."""

    guest_ip: str
    guest_port: int
    host_port: int

    def __post_init__(self) -> None:
        try:
            addr = ipaddress.IPv4Address(self.guest_ip)
        except ValueError as exc:
            raise SpecError(f"guest forward: bad guest_ip {self.guest_ip!r}") from exc
        _require(addr in ipaddress.IPv4Network("10.0.2.0/24") and str(addr) not in _SLIRP_RESERVED,
                 f"guest forward: {addr} must be a free address in QEMU's 10.0.2.0/24")
        for port in (self.guest_port, self.host_port):
            _require(0 < port < 65536, f"guest forward {addr}: port {port} out of range")


_SLIRP_RESERVED = {"10.0.2.0", "10.0.2.2", "10.0.2.3", "10.0.2.15", "10.0.2.255"}


@dataclass(frozen=True)
class KernelBoot:
    """Direct kernel boot (the ramdisk): QEMU loads kernel and initrd itself."""

    kernel: Path
    initrd: Path
    cmdline: str


@dataclass(frozen=True)
class DiskBoot:
    """Firmware boot from a disk (SeaBIOS -> the disk's MBR), as after a BMC boot-device change."""

    disk: str


@dataclass(frozen=True)
class CdromBoot:
    """Firmware boot from an ISO on a SATA CD drive: virtual media, as a BMC attaches it."""

    iso: Path


FIRMWARES = ("bios", "efi", "efi-secure")  # SeaBIOS; OVMF; OVMF with Secure Boot enforced (MS keys)


@dataclass(frozen=True)
class VmSpec:
    name: str
    memory_mib: int = 1024
    cpus: int = 1
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    smbios: Smbios = field(default_factory=Smbios)
    disks: tuple[DiskSpec, ...] = ()
    boot: KernelBoot | DiskBoot | CdromBoot | None = None
    firmware: str = "bios"
    forwards: tuple[GuestForward, ...] = ()
    channel_name: str | None = "org.teeth.agent.0"
    # A second virtio-serial port for the agent's link (teeth.endpoint=/dev/virtio-ports/NAME).
    agent_channel: str | None = None
    # "destroy" lets the harness see a guest reboot as a stop and switch the boot device, as a BMC would.
    on_reboot: str = "restart"

    def __post_init__(self) -> None:
        _require(bool(_NAME_RE.match(self.name)), f"vm name {self.name!r}: use [a-z][a-z0-9-]*, <= 31 chars")
        _require(128 <= self.memory_mib <= 65536, f"vm {self.name}: memory_mib must be 128..65536")
        _require(1 <= self.cpus <= 64, f"vm {self.name}: cpus must be 1..64")
        try:
            uuidlib.UUID(self.uuid)
        except ValueError as exc:
            raise SpecError(f"vm {self.name}: uuid {self.uuid!r} is not a UUID") from exc
        _require(self.firmware in FIRMWARES,
                 f"vm {self.name}: firmware must be one of {', '.join(FIRMWARES)}")
        _require(self.on_reboot in ("restart", "destroy"),
                 f"vm {self.name}: on_reboot must be restart or destroy")
        _require(self.agent_channel is None or self.agent_channel != self.channel_name,
                 f"vm {self.name}: agent_channel and channel_name must differ")
        self._check_unique("disk name", [d.name for d in self.disks])
        self._check_unique("disk serial", [d.serial for d in self.disks])
        self._check_unique("guest forward address", [(f.guest_ip, f.guest_port) for f in self.forwards])
        if isinstance(self.boot, DiskBoot):
            _require(self.boot.disk in {d.name for d in self.disks},
                     f"vm {self.name}: boot disk {self.boot.disk!r} is not one of its disks")

    def _check_unique(self, what: str, values: list[object]) -> None:
        dupes = sorted({str(v) for v in values if values.count(v) > 1})
        _require(not dupes, f"vm {self.name}: duplicate {what}: {', '.join(dupes)}")

    def disks_on(self, bus: Bus) -> tuple[DiskSpec, ...]:
        return tuple(d for d in self.disks if d.bus is bus)
