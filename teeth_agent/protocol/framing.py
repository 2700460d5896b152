"""Bytes -> lines, with a line length limit and an explicit end of stream.

`LineBuffer` keeps an incomplete tail between feeds and never holds more than `limit` bytes of one line:
as soon as a tail without a newline grows past the limit it raises `RemoteProtocolError`, so a peer
cannot make us buffer without bound. Scanning resumes where it stopped, so a long line fed one byte at a
time costs linear, not quadratic, time.
"""

from __future__ import annotations

from dataclasses import dataclass

from teeth_agent.protocol.errors import LocalProtocolError, RemoteProtocolError

DEFAULT_LINE_LIMIT = 1 << 20  # 1 MiB, the newline not counted


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """The peer closed. `truncated` counts bytes of a last line that never got its newline."""

    truncated: int = 0


class LineBuffer:
    def __init__(self, limit: int = DEFAULT_LINE_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"line limit must be positive, got {limit}")
        self.limit = limit
        self._buf = bytearray()
        self._start = 0  # first unconsumed byte
        self._scan = 0  # no newline in _buf[_start:_scan]
        self._eof = False

    def feed(self, data: bytes) -> None:
        """Append received bytes; `b""` means the peer closed its side."""
        if self._eof:
            raise LocalProtocolError("data fed after end of stream")
        if not data:
            self._eof = True
            return
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._start

    def next_line(self) -> bytes | EndOfStream | None:
        """The next line (without `\\n`), EndOfStream once drained after EOF, or None: need more data."""
        buf = self._buf
        nl = buf.find(b"\n", self._scan)
        if nl < 0:
            return self._no_line()
        start = self._start
        if nl - start > self.limit:
            raise RemoteProtocolError(f"line longer than the limit of {self.limit} bytes")
        line = bytes(buf[start:nl])
        self._start = self._scan = nl + 1
        if self._start == len(buf):
            buf.clear()
            self._start = self._scan = 0
        elif self._start > 65536:
            del buf[: self._start]
            self._scan -= self._start
            self._start = 0
        return line

    def _no_line(self) -> EndOfStream | None:
        self._scan = len(self._buf)
        pending = self._scan - self._start
        if pending > self.limit:
            raise RemoteProtocolError(f"line longer than the limit of {self.limit} bytes")
        if self._eof:
            return EndOfStream(truncated=pending)
        return None
