"""The method table (`teeth_agent.protocol.methods`) against the spec, the agent and the endpoint.

docs/protocol.md carries the table as `python -m teeth_agent.protocol.methods` prints it, and a section per
method; the stock agent registers exactly the methods sent to agents; the reference endpoint answers every
method sent to endpoints and refuses every one sent to agents. So none of the four can drift alone.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from teeth_agent.commands.wiring import AgentCommands
from teeth_agent.connection import CommandFailed, Connection
from teeth_agent.protocol import Role
from teeth_agent.protocol.methods import ALIASES, BY_NAME, METHODS, Kind, answered_by, markdown_table
from teeth_agent.tasks.spec import AgentIdentity, StatusSources, TaskSpec
from teeth_endpoint.api import Endpoint

SPEC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
BEGIN = "<!-- methods: begin -->\n"
END = "<!-- methods: end -->\n"


def test_the_spec_carries_the_table_as_the_code_has_it() -> None:
    text = SPEC.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    between = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert between.strip() == markdown_table().strip(), (
        "docs/protocol.md's method table differs from teeth_agent.protocol.methods; "
        "paste the output of `python -m teeth_agent.protocol.methods` between the markers"
    )


def test_the_spec_has_a_section_for_every_method_and_none_for_others() -> None:
    headings = re.findall(r"^### `([a-z_.]+)`", SPEC.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(m.name for m in METHODS)


def test_aliases_name_families_of_the_table() -> None:
    families = {m.name.split(".")[0] + "." for m in METHODS if "." in m.name}
    assert set(ALIASES.values()) <= families
    assert not set(ALIASES) & families


def _registry() -> Any:
    async def no_inventory() -> Any:
        raise AssertionError("not called while building")

    def no_start(spec: TaskSpec, params: Mapping[str, Any]) -> dict[str, Any]:
        raise AssertionError("not called while building")

    identity = AgentIdentity("agent-1", "test", "boot-1", "null")
    sources = StatusSources(uptime=lambda: 0.0, tasks=list, inventory=no_inventory)
    return AgentCommands().build(identity, sources, no_start)


def test_the_stock_agent_registers_exactly_the_methods_sent_to_agents() -> None:
    registry = _registry()
    # What the agent's handshake announces as `methods`.
    assert registry.methods == tuple(sorted(answered_by(Role.AGENT)))
    assert set(registry.task_methods) == {m.name for m in METHODS if m.kind is Kind.TASK}


async def test_the_endpoint_answers_what_agents_send_and_refuses_the_rest() -> None:
    async with Endpoint() as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        conn = Connection(reader, writer, Role.AGENT, peer=url)
        running = asyncio.create_task(conn.run())
        hello = {"agent_id": "a1", "agent_version": "t", "boot_id": "b1", "backend": "null", "methods": []}
        # One well-formed call of each method an endpoint must answer.
        calls = {
            "handshake": hello,
            "ping": {"n": 1},
            "log": {"level": "info", "msg": "hello", "time": 1.0, "logger": "t"},
            "task_status": {"task_id": "t1", "method": "decom.qc", "seq": 1, "state": "running",
                            "percent": 5, "eta": None},
        }
        assert set(calls) == answered_by(Role.ENDPOINT)
        replies = {name: await conn.call(name, params, timeout=10) for name, params in calls.items()}
        assert replies["handshake"]["accepted"] is True and replies["ping"] == {"n": 1}
        assert replies["log"] == {} and replies["task_status"] == {}
        for name in sorted(answered_by(Role.ENDPOINT) ^ set(BY_NAME)):
            with pytest.raises(CommandFailed) as failed:
                await conn.call(name, {"task_id": "t2"}, timeout=10)
            assert failed.value.error.type == "unknown_method", name
        await conn.close()
        await running

