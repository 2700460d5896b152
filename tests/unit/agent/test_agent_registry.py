"""The registry: dispatch, aliases, and the one mapping from exceptions to wire errors."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teeth_agent.backend.errors import DeviceIOError, ToolError, Unsupported
from teeth_agent.commands.registry import Registry, canonical_method, error_payload, load_specs
from teeth_agent.errors import Busy, InvalidParams
from teeth_agent.tasks.spec import CommandSpec, TaskSpec


async def _echo(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"got": dict(params)}


async def _raise_os(params: Mapping[str, Any]) -> dict[str, Any]:
    raise OSError("/very/private/path exploded")


def _task(method: str) -> TaskSpec:
    async def run(ctx: Any, parsed: object) -> dict[str, Any]:
        return {}

    return TaskSpec(method, validate=lambda p: p, run=run)


def _registry(started: list[tuple[str, Mapping[str, Any]]]) -> Registry:
    def start(spec: TaskSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        started.append((spec.method, params))
        return {"task_id": params.get("task_id"), "state": "running"}

    commands = [CommandSpec("echo", _echo), CommandSpec("oops", _raise_os)]
    return Registry(commands, [_task("standbye.cache_images")], start)


async def test_dispatch_commands_tasks_and_the_standby_alias() -> None:
    started: list[tuple[str, Mapping[str, Any]]] = []
    reg = _registry(started)
    assert reg.methods == ("echo", "oops", "standbye.cache_images")
    assert (await reg.dispatch("echo", {"a": 1})).result == {"got": {"a": 1}}
    out = await reg.dispatch("standby.cache_images", {"task_id": "t"})
    assert out.ok and started == [("standbye.cache_images", {"task_id": "t"})]
    unknown = await reg.dispatch("decom.nothing", {})
    assert unknown.error == {"type": "unknown_method", "msg": "unknown method 'decom.nothing'",
                             "details": {"method": "decom.nothing"}}  # fmt: skip


async def test_unexpected_exceptions_become_internal_without_details() -> None:
    out = await _registry([]).dispatch("oops", {})
    assert out.error is not None and out.error["type"] == "internal"
    assert "private" not in out.error["msg"] and "Traceback" not in out.error["msg"]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (InvalidParams("devices[0]", "no such disk"),
         {"type": "invalid_params", "msg": "devices[0]: no such disk", "details": {"field": "devices[0]"}}),
        (Busy("task a is running"), {"type": "busy", "msg": "task a is running"}),
        (Unsupported("no sanitize"), {"type": "unsupported", "msg": "no sanitize"}),
        (DeviceIOError("read failed", offset=4096),
         {"type": "io_error", "msg": "read failed", "details": {"offset": 4096}}),
        (TimeoutError(), {"type": "timeout", "msg": "the operation timed out"}),
    ],
)  # fmt: skip
def test_error_payloads(exc: BaseException, expected: dict[str, Any]) -> None:
    assert error_payload(exc) == expected


def test_tool_errors_carry_argv_exit_code_and_stderr_tail() -> None:
    out = error_payload(ToolError(["nvme", "format", "/dev/nvme0n1"], 1, "x" * 3000 + "\nInvalid Field"))
    assert out["type"] == "tool_error" and out["msg"] == "nvme exited 1: Invalid Field"
    assert (
        out["details"]["argv"] == ["nvme", "format", "/dev/nvme0n1"] and len(out["details"]["stderr"]) == 500
    )


def test_registering_twice_or_under_an_alias_is_refused() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        Registry([CommandSpec("echo", _echo)], [_task("echo")], lambda s, p: {})
    with pytest.raises(ValueError, match=r"canonical name 'standbye\.x'"):
        Registry([], [_task("standby.x")], lambda s, p: {})
    assert canonical_method("standby.run_image") == "standbye.run_image"
    assert canonical_method("standbye.run_image") == "standbye.run_image"


def test_load_specs_skips_absent_optional_modules_but_not_named_plugins(tmp_path: Path) -> None:
    (tmp_path / "agent_plugin_ok.py").write_text(
        "from teeth_agent.tasks.spec import CommandSpec\n"
        "async def hello(params):\n    return {}\n"
        "COMMANDS = (CommandSpec('hello', hello),)\n"
        "async def act(backend, result):\n    pass\n"
        "AFTER_ACK = {'hello.task': act}\n"
    )
    (tmp_path / "agent_plugin_broken.py").write_text("import no_such_module_anywhere\n")
    sys.path.insert(0, str(tmp_path))
    try:
        loaded = load_specs(["agent_plugin_ok", "agent_plugin_absent", "agent_plugin_broken"])
        assert [c.method for c in loaded.commands] == ["hello"] and loaded.tasks == ()
        assert list(loaded.after_ack) == ["hello.task"]
        with pytest.raises(ModuleNotFoundError):
            load_specs(["agent_plugin_absent"], required=True)
    finally:
        sys.path.remove(str(tmp_path))


def test_the_flow_families_register_under_canonical_names() -> None:
    from teeth_agent.commands.registry import FLOW_MODULES

    loaded = load_specs(FLOW_MODULES)
    registry = Registry((), loaded.tasks, lambda s, p: {})
    assert all(m.startswith(("decom.", "standbye.")) for m in registry.task_methods)
    assert set(loaded.after_ack) <= set(registry.task_methods)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(
    st.sampled_from(["echo", "oops", "standby.cache_images", "standbye.cache_images", "x", "", "standby."])
    | st.text(max_size=20),
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
async def test_dispatch_never_raises_and_errors_are_well_formed(method: str, params: dict[str, Any]) -> None:
    out = await _registry([]).dispatch(method, params)
    assert (out.result is None) != (out.error is None)
    if out.error is not None:
        assert isinstance(out.error["type"], str) and isinstance(out.error["msg"], str)
