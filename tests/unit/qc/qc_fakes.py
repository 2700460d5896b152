"""A read-only fake machine for QC tests: an Inventory value, firmware rows and disk contents as tables."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from teeth_agent.backend.errors import DeviceIOError
from teeth_agent.backend.types import (
    BlockDevice,
    BootMode,
    Cpu,
    DmiInfo,
    FirmwareComponent,
    Inventory,
    Nic,
    Transport,
)

GB = 1_000_000_000


def inventory(**kw: object) -> Inventory:
    base: dict[str, object] = {
        "dmi": DmiInfo(manufacturer="Dell Inc.", product="PowerEdge R640", bios_version="2.1.0"),
        "cpu": Cpu(model="Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", cores=40, threads=80, sockets=2),
        "memory_mib": 385_000,
        "disks": (
            BlockDevice("/dev/nvme0n1", 960 * GB, transport=Transport.NVME),
            BlockDevice("/dev/nvme1n1", 960 * GB, transport=Transport.NVME),
            BlockDevice("/dev/sda", 4000 * GB, rotational=True, transport=Transport.SATA),
            BlockDevice("/dev/sdu", 8 * GB, removable=True, transport=Transport.USB),
        ),
        "nics": (
            Nic("eth0", "aa:bb:cc:00:00:01", True, 25000),
            Nic("eth1", "aa:bb:cc:00:00:02", True, 25000),
        ),
        "boot_mode": BootMode.UEFI,
        "secure_boot": True,
    }
    base.update(kw)
    return Inventory(**base)  # type: ignore[arg-type]


COMPONENTS = (
    FirmwareComponent("bios", "bios", "Dell", "R640", "2.1.0", True),
    FirmwareComponent("disk", "nvme0", "Samsung", "PM983", "EDA7602Q", True),
    FirmwareComponent("disk", "nvme1", "Samsung", "PM983", "EDA7202Q", True),
)


@dataclass
class FakeClock:
    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_800_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class Handle:
    def __init__(self, m: FakeMachine, dev: BlockDevice) -> None:
        self.m, self.dev = m, dev

    @property
    def size(self) -> int:
        return self.dev.size

    @property
    def alignment(self) -> int:
        return 512

    async def read_at(self, offset: int, length: int) -> bytes:
        self.m.clock.now += self.m.seconds_per_read
        self.m.reads.append((self.dev.path, offset))
        bad = self.m.bad_reads.get(self.dev.path)
        if bad is not None and bad[0] <= offset < bad[1]:
            raise DeviceIOError("medium error", offset=offset)
        return bytes(length)

    async def flush(self) -> None:
        pass

    async def close(self) -> None:
        pass


@dataclass
class FakeMachine:
    inv: Inventory = field(default_factory=inventory)
    components: tuple[FirmwareComponent, ...] = COMPONENTS
    bad_reads: dict[str, tuple[int, int]] = field(default_factory=dict)  # path -> [start, end) that fails
    seconds_per_read: float = 0.1
    clock: FakeClock = field(default_factory=FakeClock)
    reads: list[tuple[str, int]] = field(default_factory=list)
    name: str = "fake"

    async def inventory(self) -> Inventory:
        return self.inv

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        return self.components

    async def open_block(self, path: str, *, writable: bool) -> Handle:
        assert not writable, "QC must never open a disk for writing"
        return Handle(self, next(d for d in self.inv.disks if d.path == path))


def make_ctx(backend: object, progress: list[tuple[float, float]]) -> object:
    import logging
    from pathlib import Path

    from teeth_agent.tasks.context import TaskContext

    return TaskContext(
        task_id="t1",
        method="decom.qc",
        backend=backend,  # type: ignore[arg-type]
        progress=lambda done, total: progress.append((done, total)),
        log=logging.LoggerAdapter(logging.getLogger("test"), {"task_id": "t1"}),
        state_dir=Path("/nonexistent"),
    )
