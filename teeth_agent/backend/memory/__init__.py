"""The in-memory Backend: a first-class, standard-library-only machine for tests and demos.

Plain data describes the machine; one optional handler function scripts its quirks; a manual clock makes
hours of hardware time pass at once. It passes the same contract suite as the Linux backend and the
simulator (`tests/contract/`), so a flow tested on it is tested against the Backend contract, not against
a fake's idea of it.

    from teeth_agent.backend.errors import DeviceIOError
    from teeth_agent.backend.memory import FailAfter, MemoryBackend, MemoryMachine, memory_disk

    def flaky(call):                     # a disk that dies half-way through an overwrite
        if call.op == "overwrite" and call.target == "/dev/sdb":
            return FailAfter(0.5, DeviceIOError("medium error"))
        return None

    backend = MemoryBackend(
        MemoryMachine.of(memory_disk("/dev/sda", 1 << 30), memory_disk("/dev/sdb", 1 << 30, fill=0x5A)),
        handler=flaky,
    )
    # ... run a flow on `backend` ...
    assert ("overwrite", "/dev/sdb") in backend.calls
    assert backend.disks["/dev/sda"].data.read(0, 512) == bytes(512)

- `machine.py`: MemoryMachine, MemoryDisk, MemoryFirmware: the state, as mutable records.
- `script.py`: Call, the handler contract (None, raise, SILENT, LIE, FailAfter), `chain`.
- `contents.py`: a disk's bytes, sparse in memory or in a file a real tool can open.
- `clock.py`: ManualClock.
"""

from teeth_agent.backend.memory.backend import MemoryBackend
from teeth_agent.backend.memory.clock import ManualClock
from teeth_agent.backend.memory.contents import NOISE, DiskBytes, FileBytes, SparseBytes
from teeth_agent.backend.memory.handle import MemoryHandle
from teeth_agent.backend.memory.machine import (
    MemoryDisk,
    MemoryFirmware,
    MemoryMachine,
    firmware_image,
    memory_disk,
)
from teeth_agent.backend.memory.script import (
    LIE,
    SILENT,
    Call,
    FailAfter,
    Handler,
    Outcome,
    Reaction,
    chain,
    honest,
)

__all__ = [
    "LIE",
    "NOISE",
    "SILENT",
    "Call",
    "DiskBytes",
    "FailAfter",
    "FileBytes",
    "Handler",
    "ManualClock",
    "MemoryBackend",
    "MemoryDisk",
    "MemoryFirmware",
    "MemoryHandle",
    "MemoryMachine",
    "Outcome",
    "Reaction",
    "SparseBytes",
    "chain",
    "firmware_image",
    "honest",
    "memory_disk",
]
