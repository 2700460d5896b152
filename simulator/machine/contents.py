"""A simulated disk's contents: written 4 KiB chunks over an extent map of fills.

Writes land in `chunks` (block index -> its 4096 bytes, zlib-compressed when that saves three quarters);
an all-zero chunk is not stored but folded into the extent map, so writing a mostly-zero multi-GiB image
costs only its non-zero blocks. Whole-device operations (erase, discard, write-zeroes) replace the extent
map's runs and drop overlapping chunks: O(extents + chunks), never O(size). Reads compose both layers, so
erasure and written images can be checked byte for byte at any offset.
"""

from __future__ import annotations

import zlib

from simulator.machine.extents import BLOCK, ZERO, ExtentMap, Fill

_ZERO_BLOCK = bytes(BLOCK)
# Written blocks that compress well (canaries, stamps, text) are kept compressed: a fleet's erase
# canaries would otherwise hold megabytes per machine. A stored value of exactly BLOCK bytes is raw.
_PACKED_MAX = BLOCK // 4
_GROUP = 16 * BLOCK
_ZERO_GROUP = bytes(_GROUP)


def _deflate(data: bytes) -> bytes:
    # A window of one block and a small hash: zlib.compress's defaults set up ~256 KiB of state per call,
    # often fresh pages, which cost up to ten times the compression of a block (9 -> 95 us); this is
    # ~24 KiB and packs canaries and stamps as small. (A smaller window slides too often: slower, larger.)
    # zlib.decompress reads any window size.
    packer = zlib.compressobj(1, zlib.DEFLATED, 12, 4)
    return packer.compress(data) + packer.flush()


def _pack(block: bytes) -> bytes:
    # A cheap probe first: incompressible data (a real image's payload) is not worth a full attempt.
    if len(_deflate(block[:512])) > 256:
        return block
    packed = _deflate(block)
    return packed if len(packed) <= _PACKED_MAX else block


def _unpack(stored: bytes) -> bytes:
    return stored if len(stored) == BLOCK else zlib.decompress(stored)


class SparseDisk:
    def __init__(self, size: int, initial: Fill = ZERO) -> None:
        if size <= 0 or size % BLOCK:
            raise ValueError(f"disk size must be a positive multiple of {BLOCK}, got {size}")
        self.size = size
        self.extents = ExtentMap(size, initial)
        self.chunks: dict[int, bytes] = {}

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError(f"range {offset}+{length} outside disk of {self.size} bytes")

    def _block(self, index: int) -> bytes:
        stored = self.chunks.get(index)
        if stored is not None:
            return _unpack(stored)
        return self.extents.render(index * BLOCK, (index + 1) * BLOCK)

    def _chunk_indices(self, first: int, last: int) -> list[int]:
        """Stored chunk indices in [first, last], sorted; cheap whichever of the two is smaller."""
        if last - first + 1 <= len(self.chunks):
            return [i for i in range(first, last + 1) if i in self.chunks]
        return sorted(i for i in self.chunks if first <= i <= last)

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        if length == 0:
            return b""
        end = offset + length
        parts: list[bytes] = []
        pos = offset
        for index in self._chunk_indices(offset // BLOCK, (end - 1) // BLOCK):
            chunk_start = index * BLOCK
            if chunk_start > pos:
                parts.append(self.extents.render(pos, chunk_start))
                pos = chunk_start
            take_end = min(end, chunk_start + BLOCK)
            parts.append(_unpack(self.chunks[index])[pos - chunk_start : take_end - chunk_start])
            pos = take_end
        if pos < end:
            parts.append(self.extents.render(pos, end))
        return b"".join(parts)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        # No copy of the whole buffer (an image is written 4 MiB at a time): the blocks are copied 64 KiB
        # at a time, small enough to come from the allocator's free lists instead of fresh pages.
        view = memoryview(data).cast("B")
        self._check(offset, len(view))
        end = offset + len(view)
        head_end = min(end, -(-offset // BLOCK) * BLOCK)  # the first block boundary at or after offset
        if head_end > offset:
            self._splice(offset, view[: head_end - offset].tobytes())
        tail_start = max(head_end, end // BLOCK * BLOCK)
        self._write_blocks(head_end, view[head_end - offset : tail_start - offset])
        if tail_start < end:
            self._splice(tail_start, view[tail_start - offset :].tobytes())

    def _splice(self, at: int, piece: bytes) -> None:
        """A write inside one block: read, modify, store."""
        index, within = divmod(at, BLOCK)
        old = self._block(index)
        self._store(index, old[:within] + piece + old[within + len(piece) :])

    def _write_blocks(self, start: int, view: memoryview) -> None:
        """Whole blocks from `start`. Zero runs (checked 64 KiB at a time, by memcmp: bytes.startswith
        takes the view as it is, where memoryview == bytes compares item by item and a bytes copy costs
        a copy) are folded into the extent map; other blocks are stored."""
        pos, zero_from = 0, -1
        while pos < len(view):
            end = min(pos + _GROUP, len(view))
            if _ZERO_GROUP.startswith(view[pos:end]):
                zero_from, pos = (pos if zero_from < 0 else zero_from), end
                continue
            for at in range(pos, end, BLOCK):
                block = view[at : at + BLOCK]
                if _ZERO_BLOCK.startswith(block):
                    zero_from = at if zero_from < 0 else zero_from
                    continue
                if zero_from >= 0:
                    self._zero_run(start + zero_from, start + at)
                    zero_from = -1
                self.chunks[(start + at) // BLOCK] = _pack(block.tobytes())
            pos = end
        if zero_from >= 0:
            self._zero_run(start + zero_from, start + len(view))

    def _zero_run(self, start: int, end: int) -> None:
        """Whole blocks [start, end) now read as zeroes."""
        for index in self._chunk_indices(start // BLOCK, (end - 1) // BLOCK):
            del self.chunks[index]
        runs = self.extents.runs(start, end)
        if len(runs) > 1 or runs[0][2] != ZERO:
            self.extents.set(start, end, ZERO)

    def _store(self, index: int, block: bytes) -> None:
        if block == _ZERO_BLOCK:
            self.chunks.pop(index, None)
            start = index * BLOCK
            if self.extents.fill_at(start) != ZERO or len(self.extents.runs(start, start + BLOCK)) > 1:
                self.extents.set(start, start + BLOCK, ZERO)
        else:
            self.chunks[index] = _pack(block)

    def fill(self, start: int, end: int, fill: Fill) -> None:
        """Make [start, end) read as `fill` (sector-aligned; partial blocks at the edges are spliced)."""
        self._check(start, end - start)
        if start >= end:
            return
        first, last = start // BLOCK, (end - 1) // BLOCK
        edges = {first, last}
        saved = {i: self._block(i) for i in edges if (i * BLOCK < start or (i + 1) * BLOCK > end)}
        for index in self._chunk_indices(first, last):
            del self.chunks[index]
        self.extents.set(start, end, fill)
        for index, old in saved.items():
            block_start = index * BLOCK
            new = bytearray(old)
            lo, hi = max(start, block_start), min(end, block_start + BLOCK)
            new[lo - block_start : hi - block_start] = fill.render(lo, hi)
            self.extents.set(block_start, block_start + BLOCK, ZERO)
            self._store(index, bytes(new))

    def is_fill(self, fill: Fill, start: int = 0, end: int | None = None) -> bool:
        """Whether [start, end) reads entirely as `fill` — O(extents + chunks), no rendering."""
        end = self.size if end is None else end
        if any(f != fill for _, _, f in self.extents.runs(start, end)):
            return False
        return not self._chunk_indices(start // BLOCK, (end - 1) // BLOCK)

    def stored_bytes(self) -> int:
        """Memory held by written blocks (compressed ones count at their compressed size)."""
        return sum(len(c) for c in self.chunks.values())
