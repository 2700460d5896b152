"""QC tests' machine: an Inventory value and firmware rows as tables, served by the public MemoryBackend."""

from __future__ import annotations

from teeth_agent.backend.errors import DeviceIOError
from teeth_agent.backend.memory import (
    Call,
    ManualClock,
    MemoryBackend,
    MemoryDisk,
    MemoryFirmware,
    MemoryMachine,
    Outcome,
    SparseBytes,
)
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


class FakeMachine(MemoryBackend):
    """The public MemoryBackend holding `inv` and `components`; reads cost `seconds_per_read` on its clock,
    land in `reads`, and fail inside `bad_reads` (path -> [start, end))."""

    def __init__(
        self,
        inv: Inventory | None = None,
        components: tuple[FirmwareComponent, ...] = COMPONENTS,
        bad_reads: dict[str, tuple[int, int]] | None = None,
        seconds_per_read: float = 0.1,
    ) -> None:
        inv = inv or inventory()
        machine = MemoryMachine.of(
            *(MemoryDisk(d, SparseBytes(d.size)) for d in inv.disks),
            dmi=inv.dmi,
            cpu=inv.cpu,
            memory_mib=inv.memory_mib,
            nics=inv.nics,
            boot_mode=inv.boot_mode,
            firmware=MemoryFirmware({c.id: c for c in components}, secure_boot=inv.secure_boot),
        )
        self.manual_clock = ManualClock()
        super().__init__(machine, handler=self._react, clock=self.manual_clock)
        self.bad_reads = bad_reads or {}
        self.seconds_per_read = seconds_per_read
        self.reads: list[tuple[str, int]] = []

    def _react(self, call: Call) -> Outcome:
        if call.op == "open_block":
            assert not call.args["writable"], "QC must never open a disk for writing"
        if call.op == "read_at":
            offset = call.args["offset"]
            self.manual_clock.advance(self.seconds_per_read)
            self.reads.append((call.target, offset))
            bad = self.bad_reads.get(call.target)
            if bad is not None and bad[0] <= offset < bad[1]:
                raise DeviceIOError("medium error", offset=offset)
        return None


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
