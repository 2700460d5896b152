"""Property tests: round trips, hostile bytes, and arbitrary splits of a valid stream."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from teeth_agent.protocol import (
    Command,
    EndOfStream,
    Error,
    ErrorPayload,
    Event,
    Fatal,
    Message,
    RemoteProtocolError,
    Role,
    Session,
    Success,
    Violation,
    decode,
    encode,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
objects = st.dictionaries(st.text(), json_values, max_size=5)
ids = st.text(max_size=12)
payloads = st.builds(ErrorPayload, st.text(), st.text(min_size=1), st.none() | objects)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Command, ids, st.text(min_size=1), objects),
    st.builds(Success, ids, objects),
    st.builds(Error, ids, payloads),
    st.builds(Fatal, st.text()),
)


@given(messages)
def test_any_message_round_trips(msg: Message) -> None:
    assert decode(encode(msg)[:-1]) == msg


def feed_all(session: Session, chunks: list[bytes]) -> list[Event]:
    out: list[Event] = []
    for chunk in chunks:
        if not chunk:
            continue  # b"" would mean end of stream
        session.receive_data(chunk)
        out.extend(session.events())
    session.receive_data(b"")
    out.extend(session.events())
    # A terminal event may be reported again by a later drain; keep only its first report.
    return [e for i, e in enumerate(out) if i == 0 or e is not out[i - 1]]


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=6), st.sampled_from(Role))
def test_any_bytes_yield_events_or_a_fatal_error(chunks: list[bytes], role: Role) -> None:
    session = Session(role, line_limit=128)
    events = feed_all(session, chunks)
    assert events, "end of stream is always reported"
    assert isinstance(events[-1], Violation | Fatal | EndOfStream)
    if isinstance(events[-1], Violation):
        assert session.send(events[-1].fatal).endswith(b"\n")


@settings(max_examples=200)
@given(st.lists(st.text(max_size=30), max_size=6), st.data())
def test_printable_json_junk_never_escapes(lines: list[str], data: st.DataObject) -> None:
    prefix = b'{"version":"v1","id":"h","method":"handshake"}\n'
    session = Session(Role.ENDPOINT)
    blob = prefix + "\n".join(lines).encode("utf-8", "surrogatepass")
    cut = data.draw(st.integers(0, len(blob)))
    events = feed_all(session, [blob[:cut], blob[cut:]])
    assert events[0] == Command("h", "handshake")


def valid_stream(cmds: list[Command]) -> tuple[bytes, list[Event]]:
    agent = Session(Role.AGENT)
    sent: list[Message] = [Command("hs", "handshake", {}), *cmds]
    return b"".join(agent.send(m) for m in sent), [*sent, EndOfStream(0)]


unique_commands = st.lists(
    st.builds(Command, ids, st.text(min_size=1), objects), max_size=5, unique_by=lambda c: c.id
).filter(lambda cs: all(c.id != "hs" for c in cs))


@settings(max_examples=200)
@given(unique_commands, st.data())
def test_splitting_a_valid_stream_anywhere_yields_the_same_events(
    cmds: list[Command], data: st.DataObject
) -> None:
    stream, expected = valid_stream(cmds)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert feed_all(Session(Role.ENDPOINT), chunks) == expected


def test_every_single_byte_boundary_of_a_stream() -> None:
    stream, expected = valid_stream([Command("c", "ping", {"k": "v\u2603"}), Command("d", "status")])
    for cut in range(len(stream) + 1):
        assert feed_all(Session(Role.ENDPOINT), [stream[:cut], stream[cut:]]) == expected
    assert feed_all(Session(Role.ENDPOINT), [bytes([b]) for b in stream]) == expected


field_values = st.one_of(json_values, objects, st.sampled_from(["v1", "v2", "", "ping", "handshake"]))
near_messages = st.dictionaries(
    st.sampled_from(["version", "id", "method", "params", "result", "error", "fatal_error", "extra"]),
    field_values,
)


@settings(max_examples=500)
@given(near_messages, st.booleans())
def test_near_messages_decode_or_are_violations(obj: dict[str, Any], v1: bool) -> None:
    """Objects that look almost like messages: accepted as valid messages, or named violations."""
    if v1:
        obj["version"] = "v1"
    line = json.dumps(obj).encode()
    try:
        msg = decode(line)
    except RemoteProtocolError as exc:
        assert exc.msg
        return
    assert decode(encode(msg)[:-1]) == msg  # whatever was accepted is a valid, re-encodable message
