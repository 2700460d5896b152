"""One line of bytes <-> one message. Pure functions; the hot path of the protocol.

`decode` turns every way a line can break docs/protocol.md (sections 2-3) into `RemoteProtocolError`
with a reason naming what is wrong — including the exceptions `json` itself raises on hostile input
(RecursionError on deep nesting, ValueError on integers with too many digits). Non-finite numbers (`NaN`,
`Infinity`, `1e999`) are rejected because they are not JSON and could not be re-encoded.

`encode` writes compact ASCII JSON (non-ASCII escaped), so output is always valid UTF-8 even for strings
holding lone surrogates that a peer sent as `\\ud800` escapes.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable
from typing import Any

from teeth_agent.protocol.errors import LocalProtocolError, RemoteProtocolError
from teeth_agent.protocol.messages import VERSION, Command, Error, ErrorPayload, Fatal, Message, Success

_KINDS = ("method", "result", "error", "fatal_error")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unencodable(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


# Immutable after construction: safe to share (no module-level mutable state is involved).
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _fast_encoder() -> Callable[[Any], str]:
    """The C encoder, built once. JSONEncoder.encode builds a new one on every call, which is a third of
    the cost of a small message. No circular-reference markers: a cycle ends in RecursionError (caught)."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the _json accelerator
        return _ENCODER.encode
    enc = make(None, _unencodable, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)
    return lambda obj: "".join(enc(obj, 0))


_ENCODE = _fast_encoder()
# The scanner behind JSONDecoder.decode, called directly to skip its two whitespace regex passes.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_JSON_SPACE = " \t\r\n"


def _parse(text: str) -> Any:
    try:
        obj, end = _SCAN(text, 0)
    except StopIteration:
        # Leading whitespace or no JSON value at all: the full decoder accepts the one, names the other.
        return _DECODER.decode(text)
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        raise json.JSONDecodeError("Extra data", text, end)
    return obj


def decode(line: bytes) -> Message:
    """Parse and validate one line (without its newline)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError(f"line is not valid UTF-8 (byte {exc.start})") from None
    try:
        obj = _parse(text)
    except json.JSONDecodeError as exc:
        raise RemoteProtocolError(f"line is not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise RemoteProtocolError("line is not acceptable JSON: nested too deeply") from None
    except ValueError as exc:
        raise RemoteProtocolError(f"line is not acceptable JSON: {str(exc)[:80]}") from None
    if type(obj) is not dict:
        raise RemoteProtocolError(f"message must be a JSON object, not {type(obj).__name__}")
    return _from_object(obj)


def _from_object(obj: dict[str, Any]) -> Message:
    version = obj.get("version")
    if version != VERSION:
        if version is None:
            raise RemoteProtocolError("message has no version")
        raise RemoteProtocolError(f"unsupported version {str(version)[:40]!r} (expected {VERSION!r})")
    if ("method" in obj) + ("result" in obj) + ("error" in obj) + ("fatal_error" in obj) != 1:
        found = ", ".join(k for k in _KINDS if k in obj) or "none"
        raise RemoteProtocolError(
            f"message must be exactly one of command/success/error/fatal (found fields: {found})"
        )
    kind = next(k for k in _KINDS if k in obj)
    if kind == "fatal_error":
        reason = obj["fatal_error"]
        if type(reason) is not str:
            raise RemoteProtocolError("fatal_error must be a string")
        return Fatal(reason)
    msg_id = obj.get("id")
    if type(msg_id) is not str:
        raise RemoteProtocolError("message has no id" if msg_id is None else "id must be a string")
    if kind == "method":
        return _command(msg_id, obj)
    if kind == "result":
        result = obj["result"]
        if type(result) is not dict:
            raise RemoteProtocolError("result must be an object")
        return _trusted_success(msg_id, result)
    return Error(msg_id, _error_payload(obj["error"]))


# The checks above are the constructors' checks, made against peer input (so they raise Remote errors);
# building through __init__ would repeat them on the hot path.
_new = object.__new__
_set = object.__setattr__


def _trusted_command(msg_id: str, method: str, params: dict[str, Any]) -> Command:
    msg: Command = _new(Command)
    _set(msg, "id", msg_id)
    _set(msg, "method", method)
    _set(msg, "params", params)
    return msg


def _trusted_success(msg_id: str, result: dict[str, Any]) -> Success:
    msg: Success = _new(Success)
    _set(msg, "id", msg_id)
    _set(msg, "result", result)
    return msg


def _command(msg_id: str, obj: dict[str, Any]) -> Command:
    method = obj["method"]
    if type(method) is not str or not method:
        raise RemoteProtocolError("method must be a non-empty string")
    params = obj.get("params", _ABSENT)
    if params is _ABSENT:
        params = {}
    elif type(params) is not dict:
        raise RemoteProtocolError("params must be an object")
    return _trusted_command(msg_id, method, params)


_ABSENT: Any = object()


def _error_payload(err: Any) -> ErrorPayload:
    if type(err) is not dict:
        raise RemoteProtocolError("error must be an object")
    msg, etype, details = err.get("msg"), err.get("type"), err.get("details")
    if type(msg) is not str:
        raise RemoteProtocolError("error.msg must be a string")
    if type(etype) is not str or not etype:
        raise RemoteProtocolError("error.type must be a non-empty string")
    if details is not None and type(details) is not dict:
        raise RemoteProtocolError("error.details must be an object")
    return ErrorPayload(msg, etype, details)


def to_object(msg: Message) -> dict[str, Any]:
    """The wire object of a message (before JSON encoding)."""
    if type(msg) is Command:
        return {"version": VERSION, "id": msg.id, "method": msg.method, "params": msg.params}
    if type(msg) is Success:
        return {"version": VERSION, "id": msg.id, "result": msg.result}
    if type(msg) is Error:
        return {"version": VERSION, "id": msg.id, "error": msg.error.to_wire()}
    if type(msg) is Fatal:
        return {"version": VERSION, "fatal_error": msg.fatal_error}
    raise LocalProtocolError(f"not a protocol message: {type(msg).__name__}")


def encode(msg: Message) -> bytes:
    """One line, newline included. Raises LocalProtocolError if the payload is not JSON-serialisable."""
    try:
        text = _ENCODE(to_object(msg))
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalProtocolError(f"cannot encode {type(msg).__name__}: {str(exc)[:80]}") from None
    return text.encode("ascii") + b"\n"
