"""Host-side disk image checks for the erase scenarios: fill an image with a pattern before the VM
boots, and afterwards find where (if anywhere) the pattern survived.

The images are raw files the VM has stopped using, so plain buffered file I/O sees what the guest
wrote. Work is chunked: memory stays small whatever the disk size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 << 20


def _chunk_of(pattern: bytes) -> bytes:
    if not pattern or CHUNK % len(pattern):
        raise ValueError(f"pattern length {len(pattern)} must divide {CHUNK} (use a power of two)")
    return pattern * (CHUNK // len(pattern))


def fill(path: Path, pattern: bytes) -> int:
    """Overwrite the whole image with the repeated pattern; returns the bytes written."""
    block = _chunk_of(pattern)
    size = path.stat().st_size
    with path.open("r+b") as f:
        for offset in range(0, size, CHUNK):
            f.write(block[: min(CHUNK, size - offset)])
    return size


@dataclass(frozen=True)
class Survivors:
    """Which pattern-aligned blocks still hold the pattern after an erase."""

    blocks: int
    first_offset: int | None
    image: Path

    def __bool__(self) -> bool:
        return self.blocks > 0

    def describe(self) -> str:
        if not self.blocks:
            return f"{self.image}: no pattern left"
        return f"{self.image}: pattern left in {self.blocks} blocks, first at byte {self.first_offset}"


def survivors(path: Path, pattern: bytes) -> Survivors:
    """Count pattern-sized, pattern-aligned blocks that still equal the pattern."""
    _chunk_of(pattern)
    n, first = 0, None
    with path.open("rb") as f:
        offset = 0
        while chunk := f.read(CHUNK):
            if pattern not in chunk:  # C-speed skip of the common, erased case
                offset += len(chunk)
                continue
            for i in range(0, len(chunk) - len(pattern) + 1, len(pattern)):
                if chunk[i: i + len(pattern)] == pattern:
                    n += 1
                    first = offset + i if first is None else first
            offset += len(chunk)
    return Survivors(n, first, path)


def holds_image(disk: Path, image: Path) -> bool:
    """True if the disk image starts with exactly the bytes of image."""
    with disk.open("rb") as d, image.open("rb") as i:
        while want := i.read(CHUNK):
            if d.read(len(want)) != want:
                return False
    return True
