"""Block I/O on simulated disks: an O_DIRECT-like handle and the whole-device operations.

The handle behaves like `pread`/`pwrite` on a block device opened with O_DIRECT: misaligned offsets,
lengths or a write past the end fail with the errno a real device gives (EINVAL, ENOSPC), reads past the
end are short, a locked ATA drive refuses media access with EIO. Whole-device operations take simulated
time from the disk's throughput and touch O(extents) memory.
"""

from __future__ import annotations

import asyncio

from simulator.machine.disk import SimDisk
from simulator.machine.extents import ZERO
from simulator.machine.image_format import MIB
from simulator.machine.machine import SimMachine
from simulator.machine.timing import discard_seconds, overwrite_seconds, run_timed, write_zeroes_seconds
from teeth_agent.backend.api import Clock, Progress
from teeth_agent.backend.errors import DeviceIOError, DeviceRefused, ToolError

# Transfer time is slept once at least this much (simulated seconds) is owed.
SLEEP_BATCH = 1.0
YIELD_EVERY = 16


class SimBlockHandle:
    def __init__(self, disk: SimDisk, clock: Clock, *, writable: bool) -> None:
        self._disk = disk
        self._clock = clock
        self._writable = writable
        self._closed = False
        self._owed = 0.0  # simulated seconds of transfer not slept yet
        self._calls = 0

    @property
    def size(self) -> int:
        return self._disk.spec.size

    @property
    def alignment(self) -> int:
        return self._disk.spec.logical_sector_size

    def _check(self, offset: int, length: int) -> None:
        path = self._disk.path
        if self._closed:
            raise DeviceIOError(f"{path}: Bad file descriptor", offset=offset)
        if offset < 0 or offset % self.alignment or length % self.alignment:
            raise DeviceIOError(
                f"{path}: Invalid argument (offset {offset} and length {length} must be multiples of "
                f"{self.alignment} for direct I/O)", offset=offset)
        ata = self._disk.ata
        if ata is not None and ata.locked:
            raise DeviceIOError(f"{path}: Input/output error (drive is security locked)", offset=offset)

    async def _take_time(self, length: int) -> None:
        """Transfer time at the disk's throughput, slept in batches: a timer per 4 KiB I/O would cost the
        event loop more than the I/O itself in a fleet. Every `yield_every` calls the loop is yielded to
        anyway, so one busy handle never starves the others."""
        self._owed += length / (self._disk.spec.throughput_mbps * 1e6)
        self._calls += 1
        if self._owed >= SLEEP_BATCH:
            owed, self._owed = self._owed, 0.0
            await self._clock.sleep(owed)
        elif self._calls % YIELD_EVERY == 0:
            await asyncio.sleep(0)

    async def read_at(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        length = max(0, min(length, self.size - offset))
        self._disk.check_io(offset, length, "read")
        await self._take_time(length)
        return self._disk.content.read(offset, length)

    async def write_at(self, offset: int, data: bytes | memoryview) -> None:
        length = len(memoryview(data).cast("B"))
        self._check(offset, length)
        if not self._writable:
            raise DeviceIOError(f"{self._disk.path}: Bad file descriptor (opened read-only)", offset=offset)
        fits = max(0, min(length, self.size - offset))
        self._disk.check_io(offset, fits, "write")
        await self._take_time(fits)
        if fits:
            self._disk.content.write(offset, memoryview(data).cast("B")[:fits])
        if fits < length:
            raise DeviceIOError(f"{self._disk.path}: No space left on device (write of {length} bytes at "
                                f"{offset} passes the end at {self.size})", offset=offset + fits)

    async def flush(self) -> None:
        if self._closed:
            raise DeviceIOError(f"{self._disk.path}: Bad file descriptor")

    async def close(self) -> None:
        self._closed = True


def _writable_disk(machine: SimMachine, path: str) -> SimDisk:
    disk = machine.disk(path)
    if disk.spec.read_only:
        raise DeviceRefused(f"{path}: Read-only file system")
    return disk


class SimBlockIO:
    machine: SimMachine
    _clock: Clock

    async def open_block(self, path: str, *, writable: bool) -> SimBlockHandle:
        disk = _writable_disk(self.machine, path) if writable else self.machine.disk(path)
        return SimBlockHandle(disk, self._clock, writable=writable)

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        disk = _writable_disk(self.machine, path)
        ioctl = "BLKSECDISCARD" if secure else "BLKDISCARD"
        if not disk.spec.discard or secure:
            argv = ["blkdiscard", *(["-s"] if secure else []), path]
            raise ToolError(argv, 1, f"blkdiscard: {path}: {ioctl} ioctl failed: Operation not supported\n")
        await run_timed(self._clock, discard_seconds(disk.spec.size), progress, total=disk.spec.size)
        # Without the "discard zeroes data" guarantee the old data may still read back: model the worst case.
        if disk.spec.discard_zeroes:
            disk.erase_to(ZERO)

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        disk = _writable_disk(self.machine, path)
        size, rate = disk.spec.size, disk.spec.throughput_mbps
        # Without an offload the kernel falls back to writing zeroes: as slow as an overwrite.
        offload = disk.spec.write_zeroes
        seconds = write_zeroes_seconds(size, rate) if offload else overwrite_seconds(size, rate)
        await run_timed(self._clock, seconds, progress, total=size)
        disk.erase_to(ZERO)

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        disk = _writable_disk(self.machine, path)
        size = disk.spec.size
        bad = disk.first_bad_offset(0, size, "write")
        stop = size if bad is None else bad
        zeroed = 0

        def step(fraction: float) -> None:
            nonlocal zeroed
            upto = int(size * fraction) // MIB * MIB if fraction < 1 else size
            upto = min(upto, stop)
            disk.erase_to(ZERO, zeroed, upto)
            zeroed = max(zeroed, upto)
            if upto >= stop and bad is not None:
                disk.check_io(bad, disk.spec.logical_sector_size, "write")

        await run_timed(self._clock, overwrite_seconds(size, disk.spec.throughput_mbps), progress,
                        total=size, on_step=step)

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        disk = _writable_disk(self.machine, path)
        found = disk.signatures()
        size = disk.spec.size
        head, tail = min(MIB, size), max(0, size - MIB)
        disk.check_io(0, head, "write")
        disk.check_io(tail, size - tail, "write")
        disk.content.fill(0, head, ZERO)
        disk.content.fill(tail, size, ZERO)
        return found
