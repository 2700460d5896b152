"""Walks zstd frame and block headers without decoding, to tell a complete stream from a truncated one.

zstandard's stream reader returns a short, silent end when its input stops mid-frame; a download cut at
the server would then pass for a smaller image. The walker reads only headers (RFC 8878 section 3.1) and
skips block contents, so it costs next to nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

from teeth_agent.images.errors import CorruptImage

_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE_MASK = 0xFFFFFFF0
_SKIPPABLE = 0x184D2A50


class _State(enum.Enum):
    """What the next complete header is: each state reads a fixed number of bytes, then moves on."""

    MAGIC = "magic"
    SKIPPABLE = "skippable"
    DESCRIPTOR = "descriptor"
    FRAME_HEADER = "frame_header"
    BLOCK = "block"
    CHECKSUM = "checksum"


class ZstdFrameWalker:
    def __init__(self) -> None:
        self._state = _State.MAGIC
        self._need = 4
        self._buf = bytearray()
        self._skip = 0
        self._checksum = False
        self.frames = 0

    @property
    def at_boundary(self) -> bool:
        """True when the bytes fed so far end exactly after a complete frame."""
        return self.frames > 0 and self._state is _State.MAGIC and not self._buf and not self._skip

    def feed(self, data: bytes | memoryview) -> None:
        pos, end = 0, len(data)
        while pos < end:
            if self._skip:
                take = min(self._skip, end - pos)
                self._skip -= take
                pos += take
                continue
            take = min(self._need - len(self._buf), end - pos)
            self._buf += data[pos : pos + take]
            pos += take
            if len(self._buf) == self._need:
                header = bytes(self._buf)
                self._buf.clear()
                self._advance(header)

    def _advance(self, header: bytes) -> None:
        self._HANDLERS[self._state](self, header)

    def _goto(self, state: _State, need: int) -> None:
        self._state, self._need = state, need

    def _on_magic(self, header: bytes) -> None:
        magic = int.from_bytes(header, "little")
        if magic == _ZSTD_MAGIC:
            self._goto(_State.DESCRIPTOR, 1)
        elif magic & _SKIPPABLE_MASK == _SKIPPABLE:
            self._goto(_State.SKIPPABLE, 4)
        else:
            raise CorruptImage(f"zstd stream: expected a frame, found bytes {header.hex()}")

    def _on_skippable(self, header: bytes) -> None:
        self._skip = int.from_bytes(header, "little")
        self.frames += 1
        self._goto(_State.MAGIC, 4)

    def _on_descriptor(self, header: bytes) -> None:
        fhd = header[0]
        single_segment = bool(fhd & 0x20)
        self._checksum = bool(fhd & 0x04)
        fcs = (0 if not single_segment else 1, 2, 4, 8)[fhd >> 6]
        rest = (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 0x03] + fcs
        if rest:
            self._goto(_State.FRAME_HEADER, rest)
        else:
            self._goto(_State.BLOCK, 3)

    def _on_frame_header(self, header: bytes) -> None:
        self._goto(_State.BLOCK, 3)

    def _on_block(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:
            raise CorruptImage("zstd stream: reserved block type")
        self._skip = 1 if kind == 1 else size
        if not last:
            self._goto(_State.BLOCK, 3)
        elif self._checksum:
            self._goto(_State.CHECKSUM, 4)
        else:
            self._end_frame()

    def _on_checksum(self, header: bytes) -> None:
        self._end_frame()

    def _end_frame(self) -> None:
        self.frames += 1
        self._goto(_State.MAGIC, 4)

    # One handler per state, spelled out so a type checker (and a reader) can follow every transition.
    _HANDLERS: ClassVar[Mapping[_State, Callable[[ZstdFrameWalker, bytes], None]]] = MappingProxyType(
        {
            _State.MAGIC: _on_magic,
            _State.SKIPPABLE: _on_skippable,
            _State.DESCRIPTOR: _on_descriptor,
            _State.FRAME_HEADER: _on_frame_header,
            _State.BLOCK: _on_block,
            _State.CHECKSUM: _on_checksum,
        }
    )
