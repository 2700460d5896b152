"""One simulated disk: identity, contents, ATA/NVMe state and its faults.

Derived facts (filesystem signatures, RAID membership, the image header) are read from the contents each
time, so they stay true after any write or erase instead of drifting from a cached flag.
"""

from __future__ import annotations

import json
import re
from base64 import b64decode, b64encode
from dataclasses import dataclass, replace

from simulator.machine.ata import AtaDrive
from simulator.machine.contents import SparseDisk
from simulator.machine.extents import ZERO, Fill, pattern
from simulator.machine.faults import Fault
from simulator.machine.image_format import BLOCK, MIB, ImageHeader, parse_header
from simulator.machine.nvme import NvmeNamespace
from simulator.machine.profile_disks import DiskSpec
from teeth_agent.backend.errors import DeviceIOError
from teeth_agent.backend.types import BlockDevice, Transport

CONFIG_DRIVE_MAGIC = b"TEETHSIM-CONFIGDRIVE 1\n"
CONFIG_DRIVE_SIZE = 64 * MIB


@dataclass
class SimDisk:
    spec: DiskSpec
    content: SparseDisk
    initial: Fill
    ata: AtaDrive | None
    nvme: NvmeNamespace | None
    faults: tuple[Fault, ...]

    @classmethod
    def build(cls, spec: DiskSpec, faults: tuple[Fault, ...]) -> SimDisk:
        initial = pattern(f"old-data/{spec.serial}") if spec.contents == "old-data" else ZERO
        path = "/dev/" + spec.name
        frozen = any(f.kind == "frozen" for f in faults)
        ata = AtaDrive.from_spec(spec.ata, path, frozen=frozen) if spec.ata is not None else None
        controller = re.sub(r"n\d+$", "", spec.name)
        nvme = NvmeNamespace(spec.nvme, path, controller) if spec.nvme is not None else None
        return cls(spec, SparseDisk(spec.size, initial), initial, ata, nvme, faults)

    @property
    def path(self) -> str:
        return "/dev/" + self.spec.name

    @property
    def lying(self) -> bool:
        return any(f.kind == "lying_disk" for f in self.faults)

    def image_header(self) -> ImageHeader | None:
        return parse_header(self.content.read(0, BLOCK))

    def original_data_intact(self) -> bool:
        """The previous tenant's data (with its filesystems) still starts the disk."""
        return self.initial != ZERO and self.content.is_fill(self.initial, 0, BLOCK)

    def signatures(self) -> tuple[str, ...]:
        header = self.image_header()
        if header is not None:
            return header.signatures
        if self.original_data_intact():
            return self.spec.fs_signatures
        return ()

    def device(self) -> BlockDevice:
        s = self.spec
        hidden = s.ata is not None and s.ata.hidden_by_bridge
        return BlockDevice(
            path=self.path, size=s.size, serial=s.serial, model=s.model, wwn=s.wwn,
            logical_sector_size=s.logical_sector_size, physical_sector_size=s.physical_sector_size,
            rotational=s.rotational, transport=Transport(s.transport), read_only=s.read_only,
            removable=s.removable, raid_member=s.raid_member and self.original_data_intact(),
            fs_signatures=self.signatures(), is_boot_medium=s.is_boot_medium,
            discard_supported=s.discard, discard_zeroes=s.discard and s.discard_zeroes,
            write_zeroes_supported=s.write_zeroes,
            ata_security=None if (self.ata is None or hidden) else self.ata.state(),
            ata_security_hidden_by_bridge=hidden, nvme=None if self.nvme is None else self.nvme.caps(),
            firmware_version=s.firmware_version,
        )

    def check_io(self, offset: int, length: int, op: str) -> None:
        """Raise the kernel's EIO when [offset, offset+length) touches an injected bad range."""
        bad = self.first_bad_offset(offset, offset + length, op)
        if bad is not None:
            raise DeviceIOError(
                f"{self.path}: {op} at offset {bad}: Input/output error "
                f"(I/O error, dev {self.spec.name}, sector {bad // 512})", offset=bad)

    def first_bad_offset(self, start: int, end: int, op: str) -> int | None:
        bad = [max(start, f.offset) for f in self.faults if f.kind == "io_error" and f.op in (op, "both")
               and f.offset < end and start < f.offset + f.length]
        return min(bad) if bad else None

    def erase_to(self, fill: Fill, start: int = 0, end: int | None = None) -> None:
        """A whole-device erase as the drive performs it (a lying drive performs nothing)."""
        if not self.lying:
            self.content.fill(start, self.spec.size if end is None else end, fill)

    def set_firmware_version(self, version: str) -> None:
        self.spec = replace(self.spec, firmware_version=version)

    # The config drive lives in the last 64 MiB, as a header block followed by JSON of its files.
    def config_drive_offset(self) -> int:
        return self.spec.size - CONFIG_DRIVE_SIZE

    def write_config_drive(self, files: dict[str, bytes]) -> None:
        body = json.dumps({k: b64encode(v).decode() for k, v in sorted(files.items())}).encode()
        raw = CONFIG_DRIVE_MAGIC + len(body).to_bytes(8, "big") + body
        padded = raw.ljust(-(-len(raw) // BLOCK) * BLOCK, b"\0")
        if len(padded) > CONFIG_DRIVE_SIZE:
            raise DeviceIOError(f"{self.path}: config drive of {len(padded)} bytes does not fit in 64 MiB")
        self.content.write(self.config_drive_offset(), padded)

    def read_config_drive(self) -> dict[str, bytes] | None:
        start = self.config_drive_offset()
        head = self.content.read(start, BLOCK)
        if not head.startswith(CONFIG_DRIVE_MAGIC):
            return None
        n = int.from_bytes(head[len(CONFIG_DRIVE_MAGIC) : len(CONFIG_DRIVE_MAGIC) + 8], "big")
        if n > CONFIG_DRIVE_SIZE:
            return None
        body_start = start + len(CONFIG_DRIVE_MAGIC) + 8
        try:
            raw = json.loads(self.content.read(body_start, n))
            return {k: b64decode(v) for k, v in raw.items()}
        except ValueError:
            return None
