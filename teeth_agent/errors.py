"""Errors a command handler raises to answer with a wire `error` (never `fatal_error`).

The command registry is the one place that turns these — and BackendError — into `{"type", "msg", "details"}`.
Anything else a handler raises becomes `internal` with no traceback on the wire.
"""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    type = "command_error"

    def __init__(self, msg: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        return out


class UnknownMethod(CommandError):
    type = "unknown_method"


class InvalidParams(CommandError):
    """Bad params, raised before any work starts; names the offending field."""

    type = "invalid_params"

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(f"{field}: {msg}", details={"field": field})
        self.field = field


class Busy(CommandError):
    type = "busy"


class NotFound(CommandError):
    type = "not_found"


class Internal(CommandError):
    type = "internal"
