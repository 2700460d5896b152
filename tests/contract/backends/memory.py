"""The in-memory backend in the contract suite: two disks (one with discard that zeroes), a manual clock."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from teeth_agent.backend.memory import MemoryBackend, MemoryMachine, memory_disk
from teeth_agent.backend.types import Transport

NAME = "memory"
MIB = 1 << 20


@contextlib.asynccontextmanager
async def provide() -> AsyncIterator[tuple[MemoryBackend, str]]:
    machine = MemoryMachine.of(
        memory_disk("/dev/sda", 256 * MIB, fill=0x5A, transport=Transport.SATA, rotational=True),
        memory_disk(
            "/dev/vdb",
            64 * MIB,
            fill=0x5A,
            transport=Transport.VIRTIO,
            discard_supported=True,
            discard_zeroes=True,
            write_zeroes_supported=True,
            fs_signatures=("gpt", "ext4"),
        ),
    )
    yield MemoryBackend(machine), "/dev/vdb"
