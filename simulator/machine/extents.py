"""Fills and an extent map: the uniform part of a simulated disk's contents, O(extents) in memory.

A `Fill` says what a byte range reads as: zeroes, or a deterministic pattern (old tenant data, a vendor
erase pattern) that differs at every 4 KiB block so a misplaced read cannot pass for a right one.
`ExtentMap` covers [0, size) with non-overlapping, coalesced (start, end, fill) runs.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field

BLOCK = 4096


@dataclass(frozen=True)
class Fill:
    kind: str  # "zero" | "pattern"
    tag: str = ""
    block: bytes = field(default=b"", compare=False, repr=False)

    def render(self, start: int, end: int) -> bytes:
        if self.kind == "zero" or end <= start:
            return bytes(end - start)
        first, last = start // BLOCK, (end - 1) // BLOCK
        out = b"".join(i.to_bytes(8, "big") + self.block[8:] for i in range(first, last + 1))
        return out[start - first * BLOCK : end - first * BLOCK]


ZERO = Fill("zero")


def pattern(tag: str) -> Fill:
    """A pattern fill; block bytes derived from `tag` (each 4 KiB block also carries its own index)."""
    seed = hashlib.sha256(tag.encode()).digest()
    block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(BLOCK // 32))
    return Fill("pattern", tag, block)


class ExtentMap:
    def __init__(self, size: int, fill: Fill) -> None:
        self.size = size
        self._starts: list[int] = [0]
        self._fills: list[Fill] = [fill]

    def __len__(self) -> int:
        return len(self._starts)

    def runs(self, start: int = 0, end: int | None = None) -> list[tuple[int, int, Fill]]:
        """The (start, end, fill) runs overlapping [start, end), clipped to it."""
        end = self.size if end is None else end
        i = bisect.bisect_right(self._starts, start) - 1
        out: list[tuple[int, int, Fill]] = []
        while i < len(self._starts) and self._starts[i] < end:
            run_end = self._starts[i + 1] if i + 1 < len(self._starts) else self.size
            out.append((max(start, self._starts[i]), min(end, run_end), self._fills[i]))
            i += 1
        return out

    def fill_at(self, offset: int) -> Fill:
        return self._fills[bisect.bisect_right(self._starts, offset) - 1]

    def set(self, start: int, end: int, fill: Fill) -> None:
        if start >= end:
            return
        tail_fill = self.fill_at(end) if end < self.size else None
        lo = bisect.bisect_left(self._starts, start)
        hi = bisect.bisect_left(self._starts, end)
        starts: list[int] = [start]
        fills: list[Fill] = [fill]
        if tail_fill is not None and (hi == len(self._starts) or self._starts[hi] != end):
            starts.append(end)
            fills.append(tail_fill)
        self._starts[lo:hi] = starts
        self._fills[lo:hi] = fills
        self._coalesce(max(0, lo - 1), lo + len(starts) + 1)

    def _coalesce(self, lo: int, hi: int) -> None:
        i = max(lo, 1)
        while i < min(hi, len(self._starts)):
            if self._fills[i] == self._fills[i - 1]:
                del self._starts[i]
                del self._fills[i]
                hi -= 1
            else:
                i += 1

    def render(self, start: int, end: int) -> bytes:
        return b"".join(f.render(a, b) for a, b, f in self.runs(start, end))
