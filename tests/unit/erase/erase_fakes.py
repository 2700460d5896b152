"""A small in-memory Backend for the erase unit tests: plain data, no mocks.

Each FakeDisk holds its contents in a bytearray and its ATA security state as a value. Behaviour switches
are plain sets: `fail` (the operation raises an I/O error, after doing half its work for overwrite),
`silent` (the operation returns success and does nothing — the controller that returns 0 for an aborted
command), `lies` (every erase reports success and leaves the contents alone). `calls` records every
operation that could change a disk, so tests can assert what was never touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from dataclasses import dataclass, field

from teeth_agent.backend.errors import DeviceIOError, DeviceNotFound, DeviceStateError, Unsupported
from teeth_agent.backend.types import AtaSecurity, BlockDevice, NvmeCaps, SanitizeCaps, Transport

MiB = 1 << 20


@dataclass
class FakeClock:
    now: float = 0.0
    epoch: float = 1_800_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.epoch + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class FakeDisk:
    dev: BlockDevice
    data: bytearray
    ata: AtaSecurity | None = None
    password: str | None = None
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


def disk(path: str, size: int = 4 * MiB, **kw: object) -> FakeDisk:
    """A disk full of 0x5A bytes; keyword arguments go to BlockDevice (ata, nvme, ...)."""
    ata = kw.pop("ata", None)
    password = kw.pop("password", None)
    dev = BlockDevice(path=path, size=size, serial=f"SN-{path.rsplit('/', 1)[-1]}", **kw)  # type: ignore[arg-type]
    return FakeDisk(dev, bytearray(b"\x5a" * size), ata, password)  # type: ignore[arg-type]


def with_gpt(d: FakeDisk) -> FakeDisk:
    """Put a primary GPT header at LBA 1 and a backup at the last LBA."""
    sector = d.dev.logical_sector_size
    d.data[sector : sector + 8] = b"EFI PART"
    d.data[-sector : -sector + 8] = b"EFI PART"
    return d


def sata(path: str, *, enhanced: bool = True, frozen: bool = False, **kw: object) -> FakeDisk:
    sec = AtaSecurity(supported=True, frozen=frozen, enhanced_erase_supported=enhanced, erase_minutes=2)
    return disk(path, transport=Transport.SATA, ata=sec, **kw)


def nvme(path: str, *, crypto: bool = True, sanitize: SanitizeCaps | None = None, **kw: object) -> FakeDisk:
    caps = NvmeCaps(format_supported=True, crypto_erase_supported=crypto, sanitize=sanitize or SanitizeCaps())
    return disk(path, transport=Transport.NVME, nvme=caps, **kw)


class FakeHandle:
    def __init__(self, d: FakeDisk, writable: bool, log: list[tuple[str, str]]) -> None:
        self._d, self._writable, self._log = d, writable, log

    @property
    def size(self) -> int:
        return len(self._d.data)

    @property
    def alignment(self) -> int:
        return self._d.dev.logical_sector_size

    async def read_at(self, offset: int, length: int) -> bytes:
        if "read" in self._d.fail:
            raise DeviceIOError("read failed", offset=offset)
        return bytes(self._d.data[offset : offset + length])

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        assert self._writable, "write on a read-only handle"
        assert offset % self.alignment == 0 and len(data) % self.alignment == 0, "unaligned write"
        self._log.append(("write_at", self._d.dev.path))
        self._d.data[offset : offset + len(data)] = data

    async def flush(self) -> None:
        pass

    async def close(self) -> None:
        pass


@dataclass
class FakeBackend:
    disks: dict[str, FakeDisk]
    clock: FakeClock = field(default_factory=FakeClock)
    calls: list[tuple[str, str]] = field(default_factory=list)
    active: int = 0
    max_active: int = 0
    name: str = "fake"

    @classmethod
    def of(cls, *disks: FakeDisk) -> FakeBackend:
        return cls({d.dev.path: d for d in disks})

    def _disk(self, path: str) -> FakeDisk:
        if path not in self.disks:
            raise DeviceNotFound(path)
        return self.disks[path]

    def touched(self, path: str) -> bool:
        return any(p == path for _, p in self.calls)

    async def boot_id(self) -> str:
        return "boot-1"

    async def list_disks(self) -> tuple[BlockDevice, ...]:
        return tuple(dataclasses.replace(d.dev, ata_security=d.ata) for d in self.disks.values())

    async def refresh_disk(self, path: str) -> BlockDevice:
        d = self._disk(path)
        serial = d.swapped_serial or d.dev.serial
        return dataclasses.replace(d.dev, ata_security=d.ata, serial=serial)

    async def ata_security(self, path: str) -> AtaSecurity | None:
        return self._disk(path).ata

    def _ata(self, path: str, op: str) -> FakeDisk:
        self.calls.append((op, path))
        d = self._disk(path)
        assert d.ata is not None
        if d.ata.frozen:
            raise DeviceStateError("frozen")
        return d

    async def ata_set_password(self, path: str, password: str) -> None:
        d = self._ata(path, "ata_set_password")
        if "ata_set_password" in d.fail:
            raise DeviceIOError("set-password aborted")
        if "ata_set_password" not in d.silent:
            d.ata, d.password = dataclasses.replace(d.ata, enabled=True), password  # type: ignore[arg-type]

    async def ata_unlock(self, path: str, password: str) -> None:
        d = self._ata(path, "ata_unlock")
        if "ata_unlock" in d.fail:
            raise DeviceIOError("unlock aborted")
        if "ata_unlock" in d.silent:
            return
        if password != d.password:
            raise DeviceStateError("wrong password")
        d.ata = dataclasses.replace(d.ata, locked=False)  # type: ignore[arg-type]

    async def ata_disable_password(self, path: str, password: str) -> None:
        d = self._ata(path, "ata_disable_password")
        if "ata_disable_password" in d.fail:
            raise DeviceIOError("disable aborted")
        if "ata_disable_password" in d.silent:
            return
        if password != d.password or (d.ata is not None and d.ata.locked):
            raise DeviceStateError("wrong password or locked")
        d.ata, d.password = dataclasses.replace(d.ata, enabled=False), None  # type: ignore[arg-type]

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: object) -> None:
        d = self._ata(path, "ata_erase")
        if password != d.password or not (d.ata and d.ata.enabled):
            raise DeviceStateError("security not enabled or wrong password")
        if "ata_erase" in d.fail:
            if d.lock_on_failed_erase:
                d.ata = dataclasses.replace(d.ata, locked=True)
            raise DeviceIOError("aborted")
        if "ata_erase" in d.silent:
            return
        await self._wipe(d, b"\0", progress)
        d.ata, d.password = dataclasses.replace(d.ata, enabled=False), None

    async def _wipe(self, d: FakeDisk, fill: bytes | None, progress: object, op: str = "") -> None:
        """Replace the contents in 4 steps (yielding between them, so disks interleave)."""
        if op in d.unsupported:
            raise Unsupported(f"{op} not supported by this device after all")
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            size = len(d.data)
            step = size // 4
            rng = random.Random(7)
            for i in range(4):
                await self.clock.sleep(1.0)
                if op in d.fail and i == 2:
                    raise DeviceIOError(f"{op} failed mid-way", offset=i * step)
                if not d.lies:
                    chunk = fill * step if fill is not None else rng.randbytes(step)
                    d.data[i * step : (i + 1) * step] = chunk
                progress((i + 1) * step, size)  # type: ignore[operator]
        finally:
            self.active -= 1

    async def nvme_format(self, path: str, *, ses: int, progress: object) -> None:
        self.calls.append((f"nvme_format_ses{ses}", path))
        await self._wipe(self._disk(path), None if ses == 2 else b"\0", progress, "nvme_format")

    async def nvme_sanitize(self, path: str, *, action: str, progress: object) -> None:
        self.calls.append((f"nvme_sanitize_{action}", path))
        await self._wipe(self._disk(path), None if action == "crypto" else b"\0", progress, "nvme_sanitize")

    async def open_block(self, path: str, *, writable: bool) -> FakeHandle:
        return FakeHandle(self._disk(path), writable, self.calls)

    async def discard(self, path: str, *, secure: bool, progress: object) -> None:
        self.calls.append(("discard", path))
        await self._wipe(self._disk(path), b"\0", progress, "discard")

    async def write_zeroes(self, path: str, *, progress: object) -> None:
        self.calls.append(("write_zeroes", path))
        await self._wipe(self._disk(path), b"\0", progress, "write_zeroes")

    async def overwrite(self, path: str, *, progress: object) -> None:
        self.calls.append(("overwrite", path))
        await self._wipe(self._disk(path), b"\0", progress, "overwrite")

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        self.calls.append(("wipe_signatures", path))
        d = self._disk(path)
        found = d.dev.fs_signatures
        if not d.lies:
            d.dev = dataclasses.replace(d.dev, fs_signatures=())
            d.data[:4096] = bytes(4096)  # MBR + primary GPT
            if not d.keeps_backup_gpt:
                d.data[-4096:] = bytes(4096)
        return found


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
