from __future__ import annotations

import pytest

from teeth_agent.protocol import EndOfStream, LineBuffer, LocalProtocolError, RemoteProtocolError


def drain(buf: LineBuffer) -> list[bytes | EndOfStream]:
    out: list[bytes | EndOfStream] = []
    while (item := buf.next_line()) is not None:
        out.append(item)
        if isinstance(item, EndOfStream):
            break
    return out


def test_lines_split_and_tail_kept() -> None:
    buf = LineBuffer()
    buf.feed(b"one\ntwo\nthr")
    assert drain(buf) == [b"one", b"two"]
    assert buf.buffered == 3
    buf.feed(b"ee\n")
    assert drain(buf) == [b"three"]


def test_end_of_stream_reports_a_truncated_tail() -> None:
    buf = LineBuffer()
    buf.feed(b"done\nhalf")
    buf.feed(b"")
    assert drain(buf) == [b"done", EndOfStream(truncated=4)]


def test_clean_end_of_stream() -> None:
    buf = LineBuffer()
    buf.feed(b"")
    assert buf.next_line() == EndOfStream(truncated=0)


def test_line_at_the_limit_passes_and_one_more_byte_fails() -> None:
    buf = LineBuffer(limit=8)
    buf.feed(b"x" * 8 + b"\n")
    assert buf.next_line() == b"x" * 8
    buf.feed(b"y" * 9 + b"\n")
    with pytest.raises(RemoteProtocolError, match="limit of 8"):
        buf.next_line()


def test_an_unterminated_line_over_the_limit_fails_before_its_newline() -> None:
    buf = LineBuffer(limit=16)
    for _ in range(5):
        buf.feed(b"abcd")
    with pytest.raises(RemoteProtocolError):
        buf.next_line()


def test_feeding_after_end_of_stream_is_a_local_error() -> None:
    buf = LineBuffer()
    buf.feed(b"")
    with pytest.raises(LocalProtocolError):
        buf.feed(b"more")


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LineBuffer(limit=0)
