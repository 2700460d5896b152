"""Proving an erase happened: canaries written before, looked for after.

Before erasing, a canary block (a magic string, a per-run random token and the block's own offset,
repeated) is written at sampled offsets, always including the first and the last block of the disk. After
erasing, the same offsets and both ends of the disk (END_BYTES each) are read back — or, with `full`, every
byte. A canary still present means the disk claimed an erase it did not do. After a zeroing method
(discard, write-zeroes, overwrite) everything read must also be zero.

Planning the offsets is pure; writing and checking take an open BlockHandle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.api import BlockHandle, Progress

MAGIC = b"TEETH-CANARY\0"
SAMPLES = 64
END_BYTES = 1 << 20
CHUNK = 4 << 20
MAX_REPORTED = 10


@dataclass(frozen=True)
class CanaryPlan:
    block: int
    offsets: tuple[int, ...]
    token: bytes

    def pattern(self, offset: int) -> bytes:
        unit = MAGIC + self.token + offset.to_bytes(8, "big")
        return (unit * (self.block // len(unit) + 1))[: self.block]

    @property
    def needle(self) -> bytes:
        return MAGIC + self.token


@dataclass
class VerifyResult:
    mode: str
    zeroes_expected: bool
    offsets_checked: int = 0
    bytes_read: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    failure_count: int = 0

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def fail(self, offset: int, problem: str) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_REPORTED:
            self.failures.append({"offset": offset, "problem": problem})

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "passed": self.passed,
            "zeroes_expected": self.zeroes_expected,
            "offsets_checked": self.offsets_checked,
            "bytes_read": self.bytes_read,
            "failure_count": self.failure_count,
            "failures": list(self.failures),
        }


def plan_canaries(size: int, alignment: int, seed: int, samples: int = SAMPLES) -> CanaryPlan:
    """Block-aligned offsets: the first block, the last block and up to `samples` distinct others."""
    rng = random.Random(seed)
    token = rng.randbytes(16)
    block = max(4096, alignment)
    if block % alignment:
        block = (block // alignment + 1) * alignment
    if size < block:
        return CanaryPlan(block, (), token)
    last = (size - block) // alignment * alignment
    if last < block:  # a disk under two blocks: one canary, or the two would overlap
        return CanaryPlan(block, (0,), token)
    slots = last // block
    picks = rng.sample(range(1, slots), min(samples, max(slots - 1, 0))) if slots > 1 else []
    offsets = sorted({0, last, *(p * block for p in picks)})
    return CanaryPlan(block, tuple(offsets), token)


async def write_canaries(handle: BlockHandle, plan: CanaryPlan) -> None:
    for offset in plan.offsets:
        await handle.write_at(offset, plan.pattern(offset))
    await handle.flush()


def _check(result: VerifyResult, plan: CanaryPlan, offset: int, data: bytes) -> None:
    result.bytes_read += len(data)
    if data == bytes(len(data)):
        # One memcmp settles the common case (an erase that zeroed) ~10x faster than the two scans below:
        # the canary's NUL byte makes a search through zeroes advance a byte at a time.
        return
    if plan.needle in data:
        result.fail(offset + data.index(plan.needle), "canary still present: the disk was not erased")
    elif result.zeroes_expected:
        result.fail(offset, "non-zero data after a zeroing erase")


def _ends(size: int, alignment: int) -> list[tuple[int, int]]:
    length = min(END_BYTES, size) // alignment * alignment
    tail = (size - length) // alignment * alignment
    return [(0, length), (tail, length)] if length else []


async def check_sample(
    handle: BlockHandle, plan: CanaryPlan, result: VerifyResult, progress: Progress
) -> None:
    regions = [(o, plan.block) for o in plan.offsets] + _ends(handle.size, handle.alignment)
    for i, (offset, length) in enumerate(regions):
        _check(result, plan, offset, await handle.read_at(offset, length))
        result.offsets_checked += 1
        progress(i + 1, len(regions))


async def check_full(handle: BlockHandle, plan: CanaryPlan, result: VerifyResult, progress: Progress) -> None:
    size = handle.size
    offset = 0
    while offset < size:
        length = min(CHUNK, size - offset)
        _check(result, plan, offset, await handle.read_at(offset, length))
        offset += length
        progress(offset, size)
    result.offsets_checked = len(plan.offsets)


GPT_SIGNATURE = b"EFI PART"


async def gpt_headers_left(handle: BlockHandle, sector: int) -> list[int]:
    """Offsets of GPT headers still on the disk: the primary at LBA 1 and the backup at the last LBA.

    Read from the device itself rather than trusting the tool that wiped them."""
    block = max(handle.alignment, 2 * sector)
    block = -(-block // handle.alignment) * handle.alignment
    if handle.size < block:
        return []
    head = await handle.read_at(0, block)
    tail_start = (handle.size - block) // handle.alignment * handle.alignment
    tail = await handle.read_at(tail_start, handle.size - tail_start)
    found = []
    if head[sector : sector + 8] == GPT_SIGNATURE:
        found.append(sector)
    if tail[-sector:][:8] == GPT_SIGNATURE:
        found.append(handle.size - sector)
    return found
