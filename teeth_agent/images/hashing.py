"""Several digests over one stream, and the comparison that decides whether an image may be booted."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from teeth_agent.images.errors import ChecksumMismatch

INLINE_BYTES = 64 << 10  # chunks up to this size are hashed in the calling thread


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


class BackgroundHasher:
    """Feeds a MultiHasher from its own thread, so hashing overlaps decompression rather than
    adding to it; at most `backlog` chunks wait (memory stays bounded), in order.

    A small chunk with nothing queued is hashed at once instead: handing it to the thread costs more
    than hashing it, and a small image (a cache copy of a compressed one) then needs no thread at all.
    """

    def __init__(self, hasher: MultiHasher, backlog: int = 2, inline_bytes: int = INLINE_BYTES) -> None:
        self.hasher = hasher
        self._backlog = backlog
        self._inline_bytes = inline_bytes
        self._pool: ThreadPoolExecutor | None = None  # started by the first chunk worth a thread
        self._pending: deque[Future[None]] = deque()

    def feed(self, data: bytes) -> None:
        if len(data) <= self._inline_bytes and not self._pending:
            self.hasher.update(data)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-hash")
        self._pending.append(self._pool.submit(self.hasher.update, data))
        while len(self._pending) > self._backlog:
            self._pending.popleft().result()

    def close(self) -> None:
        """Wait for every queued chunk; after this the hasher's digests are final."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
