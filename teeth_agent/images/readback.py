"""Sampled read-back: proof that the disk kept what the pipeline wrote.

The digest check proves the bytes *received* are the image; it cannot see a disk that acknowledges
writes it never stores (the erase flows meet such disks too). So the writer remembers the digest of one
block every SAMPLE_EVERY buffers, of the last buffer, and of the held-back head; after the final flush
those blocks are read back and compared. A handful of small reads per GiB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from teeth_agent.backend.api import BlockHandle
from teeth_agent.backend.errors import VerificationFailed

SAMPLE_EVERY = 16  # buffers: one sample per 64 MiB with 4 MiB buffers
SAMPLE_BYTES = 4096


@dataclass
class ReadBack:
    alignment: int
    samples: list[tuple[int, int, str]] = field(default_factory=list)  # (offset, length, sha256)
    _seen: int = 0
    _last: tuple[int, int, str] | None = None

    def note(self, offset: int, view: memoryview) -> None:
        """A write of `view` at `offset` is about to start (its buffer is not reused before it ends)."""
        if not view:
            return
        length = min(len(view), max(SAMPLE_BYTES, self.alignment))
        sample = (offset, length, hashlib.sha256(view[:length]).hexdigest())
        if self._seen % SAMPLE_EVERY == 0:
            self.samples.append(sample)
        self._seen += 1
        self._last = sample

    def note_bytes(self, offset: int, data: bytes) -> None:
        self.samples.append((offset, len(data), hashlib.sha256(data).hexdigest()))

    async def verify(self, handle: BlockHandle) -> int:
        """Read every sample back; raise VerificationFailed on the first that differs. Return the count."""
        samples = list(self.samples)
        if self._last is not None and self._last not in samples:
            samples.append(self._last)
        for offset, length, digest in samples:
            data = await handle.read_at(offset, length)
            if hashlib.sha256(data[:length]).hexdigest() != digest:
                raise VerificationFailed(
                    f"read-back at offset {offset} differs from what was written: the disk did not keep it"
                )
        return len(samples)
