"""Every violation that one line can carry (docs/protocol.md section 9) is a RemoteProtocolError naming it."""

from __future__ import annotations

import json

import pytest

from teeth_agent.protocol import (
    Command,
    Error,
    ErrorPayload,
    Fatal,
    LocalProtocolError,
    RemoteProtocolError,
    Success,
    decode,
    encode,
)

V = '"version":"v1"'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"", "not JSON"),
        (b"[1,2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"id":"1","method":"ping"}', "no version"),
        (b'{"version":"v2","id":"1","method":"ping"}', "unsupported version"),
        (b'{"version":1,"id":"1","method":"ping"}', "unsupported version"),
        (('{' + V + ',"method":"ping"}').encode(), "no id"),
        (('{' + V + ',"id":7,"method":"ping"}').encode(), "id must be a string"),
        (('{' + V + ',"id":"1"}').encode(), "exactly one"),
        (('{' + V + ',"id":"1","method":"ping","result":{}}').encode(), "exactly one"),
        (('{' + V + ',"id":"1","result":{},"error":{}}').encode(), "exactly one"),
        (('{' + V + ',"id":"1","method":3}').encode(), "method"),
        (('{' + V + ',"id":"1","method":"ping","params":[]}').encode(), "params"),
        (('{' + V + ',"id":"1","method":"ping","params":null}').encode(), "params"),
        (('{' + V + ',"id":"1","result":[]}').encode(), "result"),
        (('{' + V + ',"id":"1","error":"boom"}').encode(), "error must be an object"),
        (('{' + V + ',"id":"1","error":{"type":"busy"}}').encode(), "error.msg"),
        (('{' + V + ',"id":"1","error":{"msg":"m"}}').encode(), "error.type"),
        (('{' + V + ',"id":"1","error":{"msg":"m","type":"t","details":1}}').encode(), "error.details"),
        (('{' + V + ',"fatal_error":5}').encode(), "fatal_error"),
        (b'{"version":"v1","id":"1","method":"ping","params":{"x":NaN}}', "not JSON"),
        (b'{"version":"v1","id":"1","method":"ping","params":{"x":1e999}}', "out of range"),
    ],
)
def test_violations(line: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError, match=reason):
        decode(line)


def test_deep_nesting_is_a_violation_not_a_recursion_error() -> None:
    nest = b"[" * 100_000 + b"]" * 100_000
    deep = b'{"version":"v1","id":"1","method":"ping","params":{"x":' + nest + b"}}"
    with pytest.raises(RemoteProtocolError, match="nested too deeply"):
        decode(deep)


def test_huge_integer_is_a_violation_not_a_value_error() -> None:
    huge = b'{"version":"v1","id":"1","method":"ping","params":{"x":' + b"9" * 50_000 + b"}}"
    with pytest.raises(RemoteProtocolError, match="not acceptable JSON"):
        decode(huge)


def test_absent_params_mean_an_empty_object_and_unknown_fields_are_ignored() -> None:
    assert decode(b'{"version":"v1","id":"1","method":"ping","extra":1}') == Command("1", "ping", {})


@pytest.mark.parametrize(
    "msg",
    [
        Command("c1", "task_status", {"seq": 3, "eta": None, "percent": 12.5}),
        Success("c1", {"accepted": True}),
        Error("c1", ErrorPayload("bad", "invalid_params", {"field": "task_id"})),
        Error("c1", ErrorPayload("bad", "busy")),
        Fatal("line is not JSON"),
        Command("ünï", "ping", {"s": "\ud800 snowman \u2603"}),
    ],
)
def test_encode_then_decode_is_identity(msg: Command | Success | Error | Fatal) -> None:
    line = encode(msg)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line[:-1]) == msg


def test_encoding_matches_the_wire_table() -> None:
    assert json.loads(encode(Error("7", ErrorPayload("no", "busy")))) == {
        "version": "v1",
        "id": "7",
        "error": {"msg": "no", "type": "busy"},
    }


def test_unencodable_payload_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="cannot encode"):
        encode(Command("1", "ping", {"x": object()}))
    with pytest.raises(LocalProtocolError, match="cannot encode"):
        encode(Success("1", {"x": float("nan")}))
