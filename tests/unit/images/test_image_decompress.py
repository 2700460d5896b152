from __future__ import annotations

import gzip
import io
import lzma
import random
import sys
from collections.abc import Callable

import pytest
import zstandard

from teeth_agent.images.decompress import Compression, detect, open_reader
from teeth_agent.images.errors import CorruptImage, UnsupportedCompression
from teeth_agent.images.zstd_frames import ZstdFrameWalker

DATA = random.Random(1).randbytes(300_000) + bytes(4_000_000) + b"end"


class Source:
    """A blocking source handing out small, uneven pieces, like a network would."""

    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)
        self._rng = random.Random(2)

    def read(self, n: int) -> bytes:
        return self._f.read(min(n, self._rng.randrange(1, 70_000)))


def decode_all(data: bytes, limit: int = 1 << 20) -> tuple[bytes, int]:
    reader = open_reader(detect(data[:6]), Source(data))
    parts, biggest = [], 0
    while piece := reader.read(limit):
        parts.append(piece)
        biggest = max(biggest, len(piece))
    return b"".join(parts), biggest


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


PACKERS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "xz": lzma.compress, "zstd": zstd}


@pytest.mark.parametrize("name", sorted(PACKERS))
def test_round_trip_in_bounded_pieces(name: str) -> None:
    packed = PACKERS[name](DATA)
    assert detect(packed[:6]).value == name
    out, biggest = decode_all(packed, limit=64 * 1024)
    assert out == DATA
    assert biggest <= 64 * 1024  # 4 MB of zeroes never arrive as one piece


@pytest.mark.parametrize("name", sorted(PACKERS))
def test_concatenated_members_are_followed(name: str) -> None:
    packed = PACKERS[name](DATA) + PACKERS[name](b"second")
    assert decode_all(packed)[0] == DATA + b"second"


@pytest.mark.parametrize("name", sorted(PACKERS))
@pytest.mark.parametrize("cut", [1, 7, 1000])
def test_truncated_stream_is_corrupt(name: str, cut: int) -> None:
    packed = PACKERS[name](DATA)
    with pytest.raises(CorruptImage):
        decode_all(packed[:-cut])


def test_garbage_is_corrupt() -> None:
    with pytest.raises(CorruptImage):
        decode_all(b"\x1f\x8b" + bytes(100))


def test_raw_is_passed_through() -> None:
    assert detect(DATA[:6]) is Compression.NONE
    assert decode_all(DATA)[0] == DATA


def test_zstd_without_module_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(UnsupportedCompression, match="python3-zstandard"):
        open_reader(Compression.ZSTD, Source(zstd(b"x")))


def test_frame_walker_follows_skippable_frames_and_block_types() -> None:
    skippable = (0x184D2A5A).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"hello"
    packed = skippable + zstd(DATA) + zstandard.ZstdCompressor(level=1).compress(bytes(1 << 20))
    walker = ZstdFrameWalker()
    for i in range(0, len(packed), 999):
        walker.feed(packed[i : i + 999])
    assert walker.at_boundary and walker.frames == 3
    partial = ZstdFrameWalker()
    partial.feed(packed[:-1])
    assert not partial.at_boundary


def decode_into(data: bytes, size: int = 4 << 20) -> bytes:
    """The way the write path reads: straight into a fixed buffer, as the Assembler does."""
    reader = open_reader(detect(data[:6]), Source(data))
    buf = memoryview(bytearray(size))
    parts = []
    while count := reader.readinto(buf):
        assert count <= size
        parts.append(bytes(buf[:count]))
    return b"".join(parts)


@pytest.mark.parametrize("name", [*sorted(PACKERS), "raw"])
def test_readinto_writes_the_exact_bytes(name: str) -> None:
    packed = PACKERS[name](DATA) + PACKERS[name](b"second") if name != "raw" else DATA
    assert decode_into(packed, size=100_000) == (DATA + b"second" if name != "raw" else DATA)


def test_xz_stream_padding_between_streams_is_skipped() -> None:
    packed = lzma.compress(DATA) + bytes(8) + lzma.compress(b"second") + bytes(4)
    assert decode_all(packed)[0] == DATA + b"second"


def test_zero_bytes_after_the_last_gzip_member_are_tolerated() -> None:
    assert decode_all(gzip.compress(DATA) + bytes(4096))[0] == DATA


def test_gzip_member_after_zero_bytes_is_corrupt() -> None:
    with pytest.raises(CorruptImage):
        decode_all(gzip.compress(DATA) + bytes(8) + gzip.compress(b"second"))


@pytest.mark.parametrize("name", ["gzip", "xz"])
def test_a_member_cut_at_its_end_marker_is_truncated_not_short(name: str) -> None:
    packed = PACKERS[name](DATA) + PACKERS[name](b"second")
    with pytest.raises(CorruptImage):
        decode_into(packed[:-1])
