"""Several digests over one stream, and the comparison that decides whether an image may be booted."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from teeth_agent.images.errors import ChecksumMismatch


class MultiHasher:
    """hashlib objects for every algorithm the spec names; hashlib drops the GIL for large updates,
    so hashing in a worker thread overlaps with the network and the disk."""

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        if not algorithms:
            raise ValueError("at least one hash algorithm is needed")
        self._hashes = {name: hashlib.new(name) for name in algorithms}

    def update(self, data: bytes | memoryview) -> None:
        for h in self._hashes.values():
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashes.items()}

    def verify(self, expected: Mapping[str, str]) -> dict[str, str]:
        """Raise ChecksumMismatch unless every expected digest matches; return the digests."""
        actual = self.hexdigests()
        for name, want in sorted(expected.items()):
            if actual.get(name) != want.lower():
                raise ChecksumMismatch(name, want.lower(), actual.get(name, ""))
        return actual
