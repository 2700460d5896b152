"""Bounded burn-in: read a sample of every installed disk (both ends included) and report read errors.

The budget (max_seconds) is measured on the backend's clock and checked between reads: when it runs out the
remaining reads are skipped and the check says so — running out of time is not a failure, a read error is.
Read-only: the disk is opened without write access.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.types import BlockDevice
from teeth_agent.qc.checks import Check
from teeth_agent.qc.spec import Burnin

MAX_ERRORS_PER_DISK = 3


def read_offsets(size: int, alignment: int, chunk: int, samples: int, seed: int) -> tuple[int, ...]:
    """Aligned chunk offsets: the first and the last chunk, then random ones, `samples` in all."""
    chunk = min(chunk, size // alignment * alignment)
    if chunk <= 0:
        return ()
    last = (size - chunk) // alignment * alignment
    rng = random.Random(seed)
    picks = [rng.randrange(0, last // alignment + 1) * alignment for _ in range(max(samples - 2, 0))]
    return tuple(dict.fromkeys([0, last, *picks]))[:samples]


class _Reader:
    def __init__(self, backend: Backend, burnin: Burnin, total: int, progress: Progress) -> None:
        self.backend, self.burnin, self.total, self.progress = backend, burnin, total, progress
        self.deadline = backend.clock.monotonic() + burnin.max_seconds
        self.done = 0

    async def disk(self, dev: BlockDevice, seed: int) -> Check:
        errors: list[dict[str, Any]] = []
        read, stopped = 0, False
        try:
            handle = await self.backend.open_block(dev.path, writable=False)
        except BackendError as exc:
            return Check(f"burnin.disk_read.{dev.path}", "no read errors", {"error": str(exc)}, False)
        try:
            chunk = min(self.burnin.chunk_bytes, handle.size)
            offsets = read_offsets(handle.size, handle.alignment, chunk, self.burnin.samples, seed)
            for offset in offsets:
                if self.backend.clock.monotonic() >= self.deadline:
                    stopped = True
                    break
                try:
                    await handle.read_at(offset, min(chunk, handle.size - offset))
                    read += 1
                except BackendError as exc:
                    errors.append({"offset": offset, "error": str(exc)})
                    if len(errors) >= MAX_ERRORS_PER_DISK:
                        break
                self.done += 1
                self.progress(self.done, self.total)
        finally:
            await handle.close()
        actual = {"chunks_read": read, "errors": errors, "time_limit_reached": stopped}
        return Check(f"burnin.disk_read.{dev.path}", "no read errors", actual, not errors)


async def burn_in(
    backend: Backend, disks: Sequence[BlockDevice], burnin: Burnin, progress: Progress, seed: int
) -> list[Check]:
    reader = _Reader(backend, burnin, burnin.samples * len(disks), progress)
    return [await reader.disk(dev, seed + i) for i, dev in enumerate(disks)]
