"""teeth-ctl against a control socket served by a real Endpoint, with a scripted agent connected."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakeagent import FakeAgent

from teeth_agent.connection import Connection
from teeth_agent.protocol import Command
from teeth_endpoint import ctl
from teeth_endpoint.api import Endpoint
from teeth_endpoint.control import ControlServer
from teeth_endpoint.wire import parse_log


async def progress_script(agent: FakeAgent, cmd: Command) -> None:
    task_id = cmd.params["task_id"]
    await agent.status(task_id, 1, "running", percent=25.0, eta=30)
    await agent.status(task_id, 2, "running", percent=75.0, eta=10)
    if cmd.params.get("fail"):
        error = {"type": "io", "msg": "disk on fire"}
        await agent.status(task_id, 3, "error", msg="disk on fire", error=error)
    else:
        await agent.status(task_id, 3, "complete", result={"ok": True})


@pytest.fixture
async def linked(tmp_path: Path) -> AsyncIterator[tuple[str, Connection]]:
    async with Endpoint() as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        server = ControlServer(ep)
        path = str(tmp_path / "ctl.sock")
        await server.start(path)
        agent = FakeAgent("node-1", script=progress_script)
        conn, runner, _ = await agent.connect(url)
        await conn.call("log", {"level": "warning", "msg": "fan slow", "logger": "qc", "task_id": "t0"})
        yield path, conn
        await conn.close()
        await runner
        await server.close()


@pytest.fixture
def control(linked: tuple[str, Connection]) -> str:
    return linked[0]


async def ctl_run(path: str, *argv: str) -> tuple[int, str, str]:
    args = ctl.build_parser().parse_args(["--control", path, *argv])
    out, err = io.StringIO(), io.StringIO()
    code = await ctl.run(args, out, err)
    return code, out.getvalue(), err.getvalue()


async def test_agents_table(control: str) -> None:
    code, out, _ = await ctl_run(control, "agents")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[:2] == ["AGENT", "STATE"] and row.split()[:2] == ["node-1", "connected"]


async def test_call_prints_the_result_or_the_error(control: str) -> None:
    code, out, _ = await ctl_run(control, "call", "node-1", "status", "{}")
    assert (code, json.loads(out)) == (0, {"agent_id": "node-1", "boot_id": "boot-1"})
    code, _, err = await ctl_run(control, "call", "node-1", "nope")
    assert code == 1 and "unknown_method" in err
    code, _, err = await ctl_run(control, "call", "node-404", "status")
    assert code == 1 and "not_connected" in err


async def test_task_shows_progress_then_the_final_status(control: str) -> None:
    code, out, err = await ctl_run(control, "task", "node-1", "fake.task", '{"task_id": "t-1"}')
    assert code == 0 and json.loads(out)["result"] == {"ok": True}
    bars = err.splitlines()
    assert len(bars) == 2 and "25.0%" in bars[0] and "75.0%" in bars[1] and "eta 10s" in bars[1]
    code, out, err = await ctl_run(control, "task", "node-1", "fake.task", '{"task_id": "t-2", "fail": true}')
    assert code == 1 and json.loads(out)["msg"] == "disk on fire"
    code, out, _ = await ctl_run(control, "tasks")
    assert sorted(t["task_id"] for t in json.loads(out)) == ["t-1", "t-2"]


async def test_logs_backlog_and_follow(linked: tuple[str, Connection]) -> None:
    control, agent_conn = linked
    code, out, _ = await ctl_run(control, "logs")
    assert code == 0 and out.strip() == "node-1 WARNING qc [t0]: fan slow"
    stream = ctl.request(control, {"op": "logs", "follow": True, "backlog": 1})
    assert (await anext(stream))["record"]["msg"] == "fan slow"
    await agent_conn.call("log", {"level": "info", "msg": "fan ok", "logger": "qc"})
    assert (await anext(stream))["record"]["msg"] == "fan ok"
    await stream.aclose()  # type: ignore[attr-defined]  # like ^C: the stream ends when the client leaves


@pytest.mark.parametrize(
    ("argv", "msg"),
    [
        (("call", "node-1", "status", "[1]"), "JSON object"),
        (("call", "node-1", "status", "{nope"), "not JSON"),
    ],
)
async def test_bad_params_are_usage_errors(control: str, argv: tuple[str, ...], msg: str) -> None:
    with pytest.raises(ctl.CtlError, match=msg):
        await ctl_run(control, *argv)


async def test_unreachable_endpoint(tmp_path: Path) -> None:
    with pytest.raises(ctl.CtlError, match="cannot reach"):
        await ctl_run(str(tmp_path / "none.sock"), "agents")


async def test_malformed_control_requests_get_an_error(control: str) -> None:
    reader, writer = await asyncio.open_unix_connection(control)
    writer.write(b'{"op": "call", "agent": 5}\n')
    answer = json.loads(await reader.readline())
    assert answer == {"ok": False, "error": {"type": "bad_request", "msg": "agent must be str"}}
    writer.close()


async def test_closing_the_control_server_ends_a_follow_stream(tmp_path: Path) -> None:
    async with Endpoint() as ep:
        server = ControlServer(ep)
        path = str(tmp_path / "ctl.sock")
        await server.start(path)
        ep.server.hub.publish_log(parse_log("a1", {"level": "info", "msg": "hello"}))
        stream = ctl.request(path, {"op": "logs", "follow": True, "backlog": 1})
        assert (await anext(stream))["record"]["msg"] == "hello"  # the stream is being served
        await asyncio.wait_for(server.close(), 10)
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(stream), 10)


async def test_task_for_an_unknown_agent_fails_cleanly(control: str) -> None:
    code, _, err = await ctl_run(control, "task", "node-404", "fake.task", '{"task_id": "t-9"}')
    assert code == 1 and "not_connected" in err


async def test_task_reports_the_agent_dropping_away_and_coming_back(tmp_path: Path) -> None:
    async with Endpoint() as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        server = ControlServer(ep)
        path = str(tmp_path / "ctl.sock")
        await server.start(path)
        runners: list[asyncio.Task[str]] = []

        async def flaky(agent: FakeAgent, cmd: Command) -> None:
            task_id = cmd.params["task_id"]
            await agent.status(task_id, 1, "running", percent=40.0, eta=5)
            assert agent.conn is not None
            await agent.conn.close()  # the link drops mid-task ...
            while (info := ep.server.fleet.agent("node-2")) is not None and info.connected:
                await ep.server.hub.wait_agents_changed()
            _, runner, _ = await agent.connect(url)  # ... and the agent dials again
            runners.append(runner)
            await agent.status(task_id, 2, "complete", result={"ok": True})

        agent = FakeAgent("node-2", script=flaky)
        conn, runner, _ = await agent.connect(url)
        code, out, err = await ctl_run(path, "task", "node-2", "fake.task", '{"task_id": "t-3"}')
        assert code == 0 and json.loads(out)["state"] == "complete"
        lines = err.splitlines()
        assert "40.0%" in lines[0] and "disconnected" in lines[1] and "connected again" in lines[2]
        assert agent.conn is not None
        await agent.conn.close()
        await asyncio.gather(runner, *runners)
        await server.close()
        del conn
