"""An open disk of a MemoryBackend: aligned I/O on its bytes, failing where a block device fails."""

from __future__ import annotations

from typing import TYPE_CHECKING

from teeth_agent.backend.errors import DeviceIOError, DeviceRefused
from teeth_agent.backend.memory.machine import MemoryDisk
from teeth_agent.backend.memory.script import Call, FailAfter, Reaction

if TYPE_CHECKING:
    from teeth_agent.backend.memory.backend import MemoryBackend


class MemoryHandle:
    def __init__(self, backend: MemoryBackend, disk: MemoryDisk, *, writable: bool) -> None:
        self._backend = backend
        self.disk = disk
        self.writable = writable
        self._closed = False

    @property
    def size(self) -> int:
        return self.disk.device.size

    @property
    def alignment(self) -> int:
        return self.disk.device.logical_sector_size

    def _check(self, offset: int, length: int) -> None:
        if self._closed:
            raise DeviceIOError(f"{self.disk.path}: I/O on a closed handle", offset=offset)
        if offset < 0 or offset % self.alignment or length % self.alignment:
            raise DeviceIOError(
                f"{self.disk.path}: I/O of {length} bytes at {offset} is not aligned to {self.alignment}",
                offset=offset,
            )

    async def read_at(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        self._backend.react(Call("read_at", self.disk.path, self.disk, {"offset": offset, "length": length}))
        return self.disk.data.read(offset, length)

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        if not self.writable:
            raise DeviceRefused(f"{self.disk.path}: write through a read-only handle")
        self._check(offset, len(data))
        if offset + len(data) > self.size:
            raise DeviceIOError(f"{self.disk.path}: write past the end of the device", offset=offset)
        outcome = self._backend.react(
            Call("write_at", self.disk.path, self.disk, {"offset": offset, "length": len(data)}), log=True
        )
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if isinstance(outcome, Reaction):
            return  # acknowledged, never stored
        self.disk.data.write(offset, data)

    async def flush(self) -> None:
        if self._closed:
            raise DeviceIOError(f"{self.disk.path}: flush on a closed handle")

    async def close(self) -> None:
        self._closed = True
