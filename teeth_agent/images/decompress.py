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


class _CopyInto:
    def read(self, n: int) -> bytes:
        raise NotImplementedError

    def readinto(self, view: memoryview) -> int:
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class _PlainReader(_CopyInto):
    def __init__(self, source: Source) -> None:
        self._source = source

    def read(self, n: int) -> bytes:
        return self._source.read(n)


class _StdlibReader(_CopyInto):
    """zlib and lzma: bounded output through max_length; concatenated members/streams are followed."""

    def __init__(self, source: Source, factory: Any, name: str) -> None:
        self._source = source
        self._factory = factory
        self._name = name
        self._dec = factory()
        self._pending = b""
        self._done = False

    def read(self, n: int) -> bytes:
        while not self._done:
            out = self._step(n)
            if out:
                return out
        return b""

    def _step(self, n: int) -> bytes:
        dec = self._dec
        if dec.eof:
            rest = dec.unused_data
            if not rest.strip(b"\x00"):
                rest = self._source.read(_INPUT)  # xz allows zero padding between streams
                if not rest:
                    self._done = True
                    return b""
                if not rest.strip(b"\x00"):
                    return b""
            self._dec = dec = self._factory()
            self._pending = rest.lstrip(b"\x00") if self._name == "xz" else rest
        if not self._pending and self._needs_input(dec):
            self._pending = self._source.read(_INPUT)
            if not self._pending:
                raise CorruptImage(f"{self._name} stream ends before its end marker (truncated download?)")
        try:
            out: bytes = dec.decompress(self._pending, n)
        except (zlib.error, lzma.LZMAError) as exc:
            raise CorruptImage(f"{self._name} data does not decode: {exc}") from exc
        # zlib keeps what it did not consume in unconsumed_tail; lzma buffers it internally. At the end of
        # a member, everything past it is in unused_data instead.
        self._pending = b"" if dec.eof else getattr(dec, "unconsumed_tail", b"")
        return out

    @staticmethod
    def _needs_input(dec: Any) -> bool:
        if hasattr(dec, "needs_input"):
            return bool(dec.needs_input)
        return not dec.unconsumed_tail


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
