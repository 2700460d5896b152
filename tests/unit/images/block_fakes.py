"""Disks for the image tests: open handles of the public MemoryBackend, which enforces the BlockHandle
contract (aligned I/O, nothing past the end), and a way to read back what a disk holds."""

from __future__ import annotations

from teeth_agent.backend.memory import (
    SILENT,
    Call,
    Handler,
    MemoryBackend,
    MemoryHandle,
    MemoryMachine,
    Outcome,
    honest,
    memory_disk,
)

DISK = "/dev/mem0"


async def open_disk(size: int, *, fill: int = 0, handler: Handler = honest) -> MemoryHandle:
    """A writable handle on a `size`-byte disk whose bytes read as `fill` until written."""
    backend = MemoryBackend(MemoryMachine.of(memory_disk(DISK, size, fill=fill)), handler=handler)
    return await backend.open_block(DISK, writable=True)


def content(handle: MemoryHandle, length: int, offset: int = 0) -> bytes:
    """What the disk holds, read past the handle (and any scripted quirk)."""
    return handle.disk.data.read(offset, length)


def forgets_writes_from(keeps: int) -> Handler:
    """A disk that acknowledges writes at or past `keeps` bytes without storing them."""

    def handler(call: Call) -> Outcome:
        if call.op == "write_at" and call.args["offset"] >= keeps:
            return SILENT
        return None

    return handler
