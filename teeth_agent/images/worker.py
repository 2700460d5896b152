"""The decode thread: received bytes -> hash -> decompress -> format check -> Assembler.

CPU work (hashing, zlib/lzma/zstd) runs here, off the event loop, so it overlaps with the network reads
and disk writes the loop drives; the C code of hashlib and the decoders drops the GIL on large buffers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

from teeth_agent.images.decompress import MAGIC_LEN, Compression, Reader, detect, open_reader
from teeth_agent.images.hashing import BackgroundHasher
from teeth_agent.images.qcow2 import Qcow2Info, check_declared_format, check_qcow2_header
from teeth_agent.images.writer import HEAD_BYTES, Aborted, Assembler

ABORT = b"\x00abort"  # compared by identity: a sentinel the loop queues to stop the thread


@dataclass(frozen=True)
class Decoded:
    compression: Compression
    size: int  # decoded bytes
    qcow2: Qcow2Info | None


class ThreadSource:
    """Blocking reads of chunks the event loop queues; hashes every chunk as it passes."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[bytes | None], hasher: BackgroundHasher
    ) -> None:
        self._loop = loop
        self._chunks = chunks
        self._hasher = hasher
        self._rest = b""
        self._eof = False
        self.aborted = threading.Event()

    def _fetch(self) -> bytes:
        if self._eof:
            return b""
        chunk = asyncio.run_coroutine_threadsafe(self._chunks.get(), self._loop).result()
        if chunk is ABORT or self.aborted.is_set():
            raise Aborted()
        if chunk is None:
            self._eof = True
            return b""
        self._hasher.feed(chunk)
        return chunk

    def close(self) -> None:
        """Let the hash thread finish what it was given."""
        self._hasher.close()

    def read(self, n: int) -> bytes:
        if not self._rest:
            self._rest = self._fetch()
        if len(self._rest) <= n:
            out, self._rest = self._rest, b""
        else:
            out, self._rest = self._rest[:n], self._rest[n:]
        return out

    def peek(self, n: int) -> bytes:
        while len(self._rest) < n and not self._eof:
            self._rest += self._fetch()
        return self._rest[:n]


@dataclass(frozen=True)
class DecodeJob:
    decompress: bool
    # None: write whatever the content is (a cache copy of the bytes as served).
    declared_format: str | None


def decode(job: DecodeJob, source: ThreadSource, assembler: Assembler, done: Callable[[], None]) -> Decoded:
    """Run the whole decode; `done` posts the end marker to the writer whatever happens."""
    try:
        kind = detect(source.peek(MAGIC_LEN)) if job.decompress else Compression.NONE
        reader = open_reader(kind, source)
        head = _read_head(reader)
        info = _check_format(job, head)
        assembler.push(head)
        assembler.fill_from(reader)
        assembler.finish()
        return Decoded(kind, assembler.total, info)
    finally:
        try:
            source.close()
        finally:
            done()


def _read_head(reader: Reader) -> bytes:
    read = reader.read
    parts: list[bytes] = []
    size = 0
    while size < HEAD_BYTES and (data := read(HEAD_BYTES - size)):
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def _check_format(job: DecodeJob, head: bytes) -> Qcow2Info | None:
    if job.declared_format is None:
        return None
    check_declared_format(head, job.declared_format)
    if job.declared_format == "qcow2":
        return check_qcow2_header(head)
    return None

