"""The four v1 messages as frozen dataclasses that validate in their constructors.

`Command`, `Success`, `Error` (with its `ErrorPayload`) and `Fatal` mirror the wire table of docs/protocol.md
section 3. Constructing one with a wrong type raises `LocalProtocolError`: a message object that exists is
always valid, so the encoder never has to check again. The codec (`codec.py`) builds them from decoded
peer input after its own checks, which map to `RemoteProtocolError` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teeth_agent.protocol.errors import LocalProtocolError

VERSION = "v1"

JsonObject = dict[str, Any]


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise LocalProtocolError(what)


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    method: str
    params: JsonObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(type(self.id) is str, "command id must be a string")
        _require(type(self.method) is str and self.method != "", "command method must be a non-empty string")
        _require(type(self.params) is dict, "command params must be an object")


@dataclass(frozen=True, slots=True)
class Success:
    id: str
    result: JsonObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(type(self.id) is str, "success id must be a string")
        _require(type(self.result) is dict, "success result must be an object")


@dataclass(frozen=True, slots=True)
class ErrorPayload:
    """`msg` is for humans, `type` for machines (`unknown_method`, `invalid_params`, `busy`, ...)."""

    msg: str
    type: str
    details: JsonObject | None = None

    def __post_init__(self) -> None:
        _require(type(self.msg) is str, "error msg must be a string")
        _require(type(self.type) is str and self.type != "", "error type must be a non-empty string")
        _require(self.details is None or type(self.details) is dict, "error details must be an object")

    def to_wire(self) -> JsonObject:
        out: JsonObject = {"msg": self.msg, "type": self.type}
        if self.details is not None:
            out["details"] = self.details
        return out


@dataclass(frozen=True, slots=True)
class Error:
    id: str
    error: ErrorPayload

    def __post_init__(self) -> None:
        _require(type(self.id) is str, "error id must be a string")
        _require(isinstance(self.error, ErrorPayload), "error must be an ErrorPayload")


@dataclass(frozen=True, slots=True)
class Fatal:
    """The last message of a connection: the sender closes after it."""

    fatal_error: str

    def __post_init__(self) -> None:
        _require(type(self.fatal_error) is str, "fatal_error must be a string")


Response = Success | Error
Message = Command | Success | Error | Fatal
