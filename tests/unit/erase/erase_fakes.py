"""The erase tests' machine: the public MemoryBackend, with per-disk quirks as plain data.

A FakeDisk is a MemoryDisk plus switches that one handler (`quirks`) turns into the backend's reactions:
`fail` (the operation raises an I/O error; a whole-disk one after doing half its work), `silent` (it
returns success and does nothing: the controller that returns 0 for an aborted command), `lies` (every
erase reports success and leaves the contents alone), `unsupported` (raise Unsupported, change nothing).
`be.calls` lists every operation that could change a disk, so tests can assert what was never touched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.errors import DeviceIOError, Unsupported
from teeth_agent.backend.memory import (
    LIE,
    SILENT,
    Call,
    FailAfter,
    MemoryBackend,
    MemoryDisk,
    MemoryMachine,
    Outcome,
    SparseBytes,
)
from teeth_agent.backend.types import AtaSecurity, BlockDevice, NvmeCaps, SanitizeCaps, Transport

MiB = 1 << 20
WHOLE_DISK = {"overwrite", "discard", "write_zeroes", "nvme_format", "nvme_sanitize"}


@dataclass
class FakeDisk(MemoryDisk):
    fail: set[str] = field(default_factory=set)
    silent: set[str] = field(default_factory=set)
    lies: bool = False
    # Operations the backend turns out not to support after all (raise Unsupported, change nothing).
    unsupported: set[str] = field(default_factory=set)
    lock_on_failed_erase: bool = False
    # Another disk appears at this path after the listing (hot-swap): refresh_disk reports this serial.
    swapped_serial: str | None = None
    # A signature wiper that forgets the backup GPT at the end of the disk.
    keeps_backup_gpt: bool = False


def quirks(call: Call) -> Outcome:
    d = call.disk
    if not isinstance(d, FakeDisk):
        return None
    op = call.op
    if op == "refresh_disk" and d.swapped_serial:
        d.device = dataclasses.replace(d.device, serial=d.swapped_serial)
    if op == "read_at" and "read" in d.fail:
        raise DeviceIOError("read failed", offset=call.args["offset"])
    if op in d.unsupported:
        raise Unsupported(f"{op} not supported by this device after all")
    if op in d.fail:
        if op in WHOLE_DISK:
            return FailAfter(0.5, DeviceIOError(f"{op} failed mid-way", offset=d.device.size // 2))
        if op == "ata_erase" and d.lock_on_failed_erase and d.ata is not None:
            d.ata = dataclasses.replace(d.ata, locked=True)
        raise DeviceIOError(f"{op} aborted")
    if op in d.silent:
        return SILENT
    if d.lies and (op in WHOLE_DISK or op in ("ata_erase", "wipe_signatures")):
        return LIE
    if op == "wipe_signatures" and d.keeps_backup_gpt:
        d.data.fill(0, 4096, 0)  # MBR + primary GPT only
        d.device = dataclasses.replace(d.device, fs_signatures=())
        return SILENT
    return None


class FakeBackend(MemoryBackend):
    @classmethod
    def of(cls, *disks: MemoryDisk) -> FakeBackend:
        return cls(MemoryMachine.of(*disks), handler=quirks)

    @property
    def max_active(self) -> int:
        return self.peak_busy


def disk(path: str, size: int = 4 * MiB, **kw: Any) -> FakeDisk:
    """A disk full of 0x5A bytes; keyword arguments go to BlockDevice (ata, nvme, ...)."""
    ata = kw.pop("ata", None)
    password = kw.pop("password", None)
    dev = BlockDevice(path=path, size=size, serial=f"SN-{path.rsplit('/', 1)[-1]}", ata_security=ata, **kw)
    return FakeDisk(dev, SparseBytes(size, 0x5A), ata, password)


def contents(d: MemoryDisk) -> bytes:
    return d.data.read(0, d.device.size)


def with_gpt(d: FakeDisk) -> FakeDisk:
    """Put a primary GPT header at LBA 1 and a backup at the last LBA."""
    sector = d.device.logical_sector_size
    d.data.write(sector, b"EFI PART".ljust(sector, b"\x5a"))
    d.data.write(d.device.size - sector, b"EFI PART".ljust(sector, b"\x5a"))
    return d


def sata(path: str, *, enhanced: bool = True, frozen: bool = False, **kw: Any) -> FakeDisk:
    sec = AtaSecurity(supported=True, frozen=frozen, enhanced_erase_supported=enhanced, erase_minutes=2)
    return disk(path, transport=Transport.SATA, ata=sec, **kw)


def nvme(path: str, *, crypto: bool = True, sanitize: SanitizeCaps | None = None, **kw: Any) -> FakeDisk:
    caps = NvmeCaps(format_supported=True, crypto_erase_supported=crypto, sanitize=sanitize or SanitizeCaps())
    return disk(path, transport=Transport.NVME, nvme=caps, **kw)


def make_ctx(
    backend: object, progress: list[tuple[float, float]], method: str = "decom.disk_erase"
) -> object:
    """A TaskContext without a runner: progress lands in a list."""
    import logging
    from pathlib import Path

    from teeth_agent.tasks.context import TaskContext

    log = logging.LoggerAdapter(logging.getLogger("test"), {"task_id": "t1"})
    return TaskContext(
        task_id="t1",
        method=method,
        backend=backend,  # type: ignore[arg-type]
        progress=lambda done, total: progress.append((done, total)),
        log=log,
        state_dir=Path("/nonexistent"),
    )
