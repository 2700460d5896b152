from __future__ import annotations

from typing import Any

import pytest

from teeth_agent.protocol import Command, Error, ErrorPayload, Fatal, LocalProtocolError, Success


@pytest.mark.parametrize(
    "build",
    [
        lambda: Command(1, "ping", {}),  # type: ignore[arg-type]
        lambda: Command("1", "", {}),
        lambda: Command("1", "ping", []),  # type: ignore[arg-type]
        lambda: Success("1", None),  # type: ignore[arg-type]
        lambda: Success(None, {}),  # type: ignore[arg-type]
        lambda: ErrorPayload(None, "busy"),  # type: ignore[arg-type]
        lambda: ErrorPayload("m", ""),
        lambda: ErrorPayload("m", "busy", details="x"),  # type: ignore[arg-type]
        lambda: Error("1", {"msg": "m", "type": "busy"}),  # type: ignore[arg-type]
        lambda: Fatal(3),  # type: ignore[arg-type]
    ],
)
def test_constructors_reject_wrong_types(build: Any) -> None:
    with pytest.raises(LocalProtocolError):
        build()


def test_messages_are_frozen_values() -> None:
    cmd = Command("1", "ping")
    assert cmd == Command("1", "ping", {})
    with pytest.raises(AttributeError):
        cmd.id = "2"  # type: ignore[misc]


def test_error_payload_wire_form_omits_absent_details() -> None:
    assert ErrorPayload("no", "busy").to_wire() == {"msg": "no", "type": "busy"}
    full = {"msg": "no", "type": "busy", "details": {"a": 1}}
    assert ErrorPayload("no", "busy", {"a": 1}).to_wire() == full
