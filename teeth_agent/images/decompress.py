"""Decoders for compressed images, chosen from the content's magic bytes (never from the URL's name).

Each decoder is a blocking reader over a blocking source, run in a worker thread, and returns output in
bounded pieces: a disk image full of zeroes compresses a thousandfold, so "decompress this chunk" could
otherwise mean gigabytes at once. gzip and xz come from the standard library; zstd from the `zstandard`
module when the ramdisk has it, else a clear UnsupportedCompression.
"""

from __future__ import annotations

import enum
import importlib
import lzma
import zlib
from typing import Any, Protocol

from teeth_agent.images.errors import CorruptImage, UnsupportedCompression
from teeth_agent.images.zstd_frames import ZstdFrameWalker

MAGIC_LEN = 6
_INPUT = 1 << 20
_FEED = 64 << 10  # compressed bytes per decoder call
_PIECE = 256 << 10  # decoded bytes per decoder call when filling a write buffer


class Compression(enum.StrEnum):
    NONE = "none"
    GZIP = "gzip"
    XZ = "xz"
    ZSTD = "zstd"


def detect(head: bytes) -> Compression:
    if head.startswith(b"\x1f\x8b"):
        return Compression.GZIP
    if head.startswith(b"\xfd7zXZ\x00"):
        return Compression.XZ
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return Compression.ZSTD
    return Compression.NONE


class Source(Protocol):
    def read(self, n: int) -> bytes:
        """Up to n bytes, blocking until some arrive; b"" only at the end of the stream."""
        ...


class Reader(Protocol):
    def read(self, n: int) -> bytes:
        """Up to n decoded bytes; b"" at the end. Raises CorruptImage on a truncated/garbled stream."""
        ...

    def readinto(self, view: memoryview) -> int:
        """Decode into `view` (zstd writes there directly: no intermediate bytes); 0 at the end."""
        ...


def open_reader(kind: Compression, source: Source) -> Reader:
    if kind is Compression.NONE:
        return _PlainReader(source)
    if kind is Compression.GZIP:
        return _StdlibReader(source, lambda: zlib.decompressobj(wbits=31), "gzip")
    if kind is Compression.XZ:
        return _StdlibReader(source, lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ), "xz")
    return _zstd_reader(source)


class _PlainReader:
    def __init__(self, source: Source) -> None:
        self._source = source

    def read(self, n: int) -> bytes:
        return self._source.read(n)

    def readinto(self, view: memoryview) -> int:
        data = self._source.read(len(view))
        view[: len(data)] = data
        return len(data)


class _StdlibReader:
    """zlib and lzma: bounded output through max_length; concatenated members/streams are followed.

    Input is handed to the decoder at most _FEED bytes at a time, as views into the received chunk: what
    zlib leaves unconsumed comes back as a copy (`unconsumed_tail`), so a whole chunk per call would be
    copied again on every bounded piece of a highly compressed image.
    """

    def __init__(self, source: Source, factory: Any, name: str) -> None:
        self._source = source
        self._factory = factory
        self._name = name
        self._dec = factory()
        self._input = memoryview(b"")
        self._pos = 0  # how much of _input the decoder has taken
        self._done = False

    def read(self, n: int) -> bytes:
        while not self._done:
            out = self._step(n)
            if out:
                return out
        return b""

    def readinto(self, view: memoryview) -> int:
        # One piece of at most _PIECE: the decoder's own output buffer stays in the CPU cache and its
        # allocation is reused, where a buffer-sized piece would be fresh pages faulted in, then copied.
        data = self.read(min(len(view), _PIECE))
        view[: len(data)] = data
        return len(data)

    def _step(self, n: int) -> bytes:
        if self._dec.eof and not self._next_member():
            self._done = True
            return b""
        dec = self._dec
        feed = self._input[self._pos : self._pos + _FEED] if self._needs_input(dec) else b""
        try:
            out: bytes = dec.decompress(feed, n)
        except (zlib.error, lzma.LZMAError) as exc:
            raise CorruptImage(f"{self._name} data does not decode: {exc}") from exc
        # At the end of a member, whatever the decoder was given past the end is in unused_data (zlib may
        # also leave it in unconsumed_tail). Before that, zlib hands back what it did not take in
        # unconsumed_tail, while lzma buffers it internally.
        if dec.eof:
            self._pos += len(feed)
            self._give_back(dec.unused_data)
        else:
            self._pos += len(feed) - len(getattr(dec, "unconsumed_tail", b""))
        return out

    def _needs_input(self, dec: Any) -> bool:
        """Whether the decoder takes input now (lzma refuses more while it holds some); refills _input."""
        if not getattr(dec, "needs_input", True):
            return False
        if self._pos == len(self._input) and not self._refill():
            raise CorruptImage(f"{self._name} stream ends before its end marker (truncated download?)")
        return True

    def _refill(self) -> bool:
        self._input, self._pos = memoryview(self._source.read(_INPUT)), 0
        return bool(self._input)

    def _give_back(self, unused: bytes) -> None:
        """Input given to the decoder past its member's end is input still to read."""
        if len(unused) <= self._pos:
            self._pos -= len(unused)  # those are exactly the bytes just before _pos
        else:
            self._input, self._pos = memoryview(unused + self._input[self._pos :].tobytes()), 0

    def _next_member(self) -> bool:
        """After a member/stream: False at the end of the input, else a fresh decoder for the next one.
        Zero bytes are stream padding for xz; after the last gzip member they are tolerated too."""
        padded = False
        while True:
            rest = self._input[self._pos :]
            if rest and rest[0] != 0:
                break
            skip = len(rest) - len(rest.tobytes().lstrip(b"\x00"))
            self._pos += skip
            padded = padded or skip > 0
            if self._pos == len(self._input) and not self._refill():
                return False
        if padded and self._name != "xz":
            raise CorruptImage(f"{self._name} data continues after zero bytes that follow a member")
        self._dec = self._factory()
        return True


def _zstd_reader(source: Source) -> Reader:
    try:
        # The one optional non-stdlib module: the ramdisk installs python3-zstandard; elsewhere zstd
        # images fail with a clear error instead of the agent failing to start.
        zstandard = importlib.import_module("zstandard")
    except ImportError as exc:
        raise UnsupportedCompression(
            "the image is zstd-compressed but this agent has no zstandard module (install python3-zstandard)"
        ) from exc
    return _ZstdReader(zstandard, source)


class _WalkedSource:
    """Passes input through while a ZstdFrameWalker follows the frame structure."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self.walker = ZstdFrameWalker()

    def read(self, n: int) -> bytes:
        data = self._source.read(n)
        self.walker.feed(data)
        return data


class _ZstdReader:
    def __init__(self, zstandard: Any, source: Source) -> None:
        self._error = zstandard.ZstdError
        self._source = _WalkedSource(source)
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            self._source, read_size=_INPUT, read_across_frames=True
        )

    def read(self, n: int) -> bytes:
        try:
            out: bytes = self._reader.read(n)
        except self._error as exc:
            raise CorruptImage(f"zstd data does not decode: {exc}") from exc
        self._check_end(len(out))
        return out

    def readinto(self, view: memoryview) -> int:
        try:
            count: int = self._reader.readinto(view)
        except self._error as exc:
            raise CorruptImage(f"zstd data does not decode: {exc}") from exc
        self._check_end(count)
        return count

    def _check_end(self, count: int) -> None:
        if not count and not self._source.walker.at_boundary:
            raise CorruptImage("zstd stream ends inside a frame (truncated download?)")
