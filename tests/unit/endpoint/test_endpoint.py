"""The endpoint against scripted agents over real sockets: handshake, auth, calls, tasks, logs, dedupe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakeagent import FakeAgent

from teeth_agent.connection import CommandFailed, Connection
from teeth_agent.protocol import Command, JsonObject
from teeth_endpoint.api import AgentNotConnected, Endpoint


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[Endpoint, str]]:
    async with Endpoint(token="s3cret", heartbeat_interval=5) as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        yield ep, url


async def stop(conn: Connection, runner: asyncio.Task[str]) -> str:
    await conn.close()
    return await runner


async def test_handshake_registers_the_agent_and_calls_reach_it(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    agent = FakeAgent("node-1")
    conn, runner, reply = await agent.connect(url, token="s3cret")
    assert reply == {"accepted": True, "heartbeat_interval": 5}
    info = await ep.wait_for_agent("node-1", timeout=5)
    assert (info.boot_id, info.backend, info.connected) == ("boot-1", "fake", True)
    assert await ep.call("node-1", "status") == {"agent_id": "node-1", "boot_id": "boot-1"}
    with pytest.raises(CommandFailed, match="unknown_method"):
        await ep.call("node-1", "nope")
    await stop(conn, runner)
    while ep.agents()[0].connected:
        await ep.server.hub.wait_agents_changed()
    with pytest.raises(AgentNotConnected):
        await ep.call("node-1", "status")


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_a_bad_token_is_unauthorized_and_the_link_closes(
    endpoint: tuple[Endpoint, str], token: str | None
) -> None:
    ep, url = endpoint
    with pytest.raises(CommandFailed, match="unauthorized"):
        await FakeAgent("intruder").connect(url, token=token)
    assert ep.agents() == []


async def test_a_second_handshake_on_one_link_starts_the_session_over(endpoint: tuple[Endpoint, str]) -> None:
    # What a restarted agent behind a serial port looks like: the stream goes on, the agent starts over.
    ep, url = endpoint
    conn, runner, _ = await FakeAgent("node-9").connect(url, token="s3cret")
    first = await ep.wait_for_agent("node-9", timeout=5)
    params = {"agent_id": "node-9", "agent_version": "test", "boot_id": "boot-1", "backend": "fake",
              "methods": [], "tasks": [], "token": "s3cret"}
    assert (await conn.call("handshake", params, timeout=10))["accepted"] is True
    again = await ep.wait_for_agent("node-9", timeout=5)
    assert again.connected and again.since >= first.since and again.methods == ()
    with pytest.raises(CommandFailed, match="another agent"):
        await conn.call("handshake", {**params, "agent_id": "node-10"}, timeout=10)
    assert "closed" in await runner  # a link never changes whose it is


async def test_any_agent_is_waited_for(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    waiter = asyncio.create_task(ep.wait_for_agent(timeout=5))
    conn, runner, _ = await FakeAgent("node-2").connect(url, token="s3cret")
    assert (await waiter).agent_id == "node-2"
    await stop(conn, runner)


async def test_bad_handshake_params_end_the_link(endpoint: tuple[Endpoint, str]) -> None:
    _, url = endpoint
    with pytest.raises(CommandFailed, match="agent_id"):
        await FakeAgent("").connect(url, token="s3cret")


async def progress_script(agent: FakeAgent, cmd: Command) -> None:
    task_id = cmd.params["task_id"]
    await agent.status(task_id, 1, "running", percent=10.0, eta=9)
    await agent.status(task_id, 1, "running", percent=10.0, eta=9)  # a re-send: must be dropped
    await agent.status(task_id, 2, "running", percent=60.0, eta=4)
    await agent.status(task_id, 3, "complete", result={"erased": 2})
    await agent.status(task_id, 3, "complete", result={"erased": 2})  # ack lost, re-sent


async def test_run_task_reports_progress_once_each_and_returns_the_final_status(
    endpoint: tuple[Endpoint, str],
) -> None:
    ep, url = endpoint
    agent = FakeAgent("node-3", script=progress_script)
    conn, runner, _ = await agent.connect(url, token="s3cret")
    seen: list[JsonObject] = []
    final = await ep.run_task("node-3", "fake.task", {"task_id": "t-1"}, on_progress=seen.append, timeout=10)
    assert [s["percent"] for s in seen] == [10.0, 60.0]
    assert final["state"] == "complete" and final["result"] == {"erased": 2}
    # The same task again: known final status, the agent is not asked to start anything.
    assert (await ep.run_task("node-3", "fake.task", {"task_id": "t-1"}))["seq"] == 3
    assert agent.started == ["t-1"]
    await stop(conn, runner)


async def test_a_final_status_survives_a_reconnect_and_is_reported_once(
    endpoint: tuple[Endpoint, str],
) -> None:
    ep, url = endpoint
    release, started = asyncio.Event(), asyncio.Event()

    async def finish_later(agent: FakeAgent, cmd: Command) -> None:
        started.set()
        await release.wait()

    agent = FakeAgent("node-4", script=finish_later)
    conn, runner, _ = await agent.connect(url, token="s3cret")
    waiting = asyncio.create_task(ep.run_task("node-4", "fake.task", {"task_id": "t-2"}))
    await started.wait()
    await stop(conn, runner)  # the link drops mid-task
    final = {"task_id": "t-2", "method": "fake.task", "seq": 5, "state": "error", "msg": "disk on fire"}
    conn, runner, _ = await agent.connect(url, token="s3cret", tasks=[final])  # listed in the handshake
    assert await agent.status("t-2", 5, "error", msg="disk on fire") == {}  # and re-sent: acknowledged
    assert (await asyncio.wait_for(waiting, 10))["msg"] == "disk on fire"
    assert [t.seq for t in ep.tasks("node-4")] == [5]
    release.set()
    await stop(conn, runner)


async def test_task_status_with_bad_params_is_an_error_not_fatal(endpoint: tuple[Endpoint, str]) -> None:
    _, url = endpoint
    agent = FakeAgent("node-5")
    conn, runner, _ = await agent.connect(url, token="s3cret")
    with pytest.raises(CommandFailed, match="invalid_params"):
        await agent.status("t-3", -1, "running")
    with pytest.raises(CommandFailed, match="state"):
        await agent.status("t-3", 1, "exploded")
    assert await agent.status("t-3", 1, "running", percent=1) == {}
    other = FakeAgent("node-6")
    conn2, runner2, _ = await other.connect(url, token="s3cret")
    with pytest.raises(CommandFailed, match="another agent"):
        await other.status("t-3", 2, "complete")
    await stop(conn, runner)
    await stop(conn2, runner2)


async def test_a_newer_link_replaces_the_older_one(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    first, first_runner, _ = await FakeAgent("node-7").connect(url, token="s3cret")
    second, second_runner, _ = await FakeAgent("node-7", boot_id="boot-2").connect(url, token="s3cret")
    assert "replaced" in await asyncio.wait_for(first_runner, 10)
    info = await ep.wait_for_agent("node-7", timeout=5)
    assert (info.boot_id, info.boots) == ("boot-2", 2)
    assert await ep.call("node-7", "status") == {"agent_id": "node-7", "boot_id": "boot-2"}
    await stop(second, second_runner)
    del first


async def test_logs_are_streamed_with_a_backlog(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    agent = FakeAgent("node-8")
    conn, runner, _ = await agent.connect(url, token="s3cret")
    assert await conn.call("log", {"level": "info", "msg": "first", "time": 1.0, "logger": "x"}) == {}
    stream = ep.logs(backlog=10)
    first = await anext(stream)
    assert (first.agent_id, first.msg, first.level) == ("node-8", "first", "info")
    await conn.call("log", {"level": "ERROR", "msg": "second", "task_id": "t-9", "fields": {"k": 1}})
    second = await anext(stream)
    assert (second.msg, second.level, second.task_id, second.fields) == ("second", "error", "t-9", {"k": 1})
    await stream.aclose()  # type: ignore[attr-defined]
    with pytest.raises(CommandFailed, match="level"):
        await conn.call("log", {"msg": "no level"})
    await stop(conn, runner)


async def test_unix_listener(tmp_path: Path) -> None:
    async with Endpoint() as ep:
        url = await ep.listen(f"unix://{tmp_path}/agents.sock")
        conn, runner, _ = await FakeAgent("node-9").connect(url)
        assert (await ep.wait_for_agent("node-9", timeout=5)).peer.startswith("unix:")
        await stop(conn, runner)


async def test_a_task_id_of_another_agent_is_refused(endpoint: tuple[Endpoint, str]) -> None:
    ep, url = endpoint
    agent = FakeAgent("node-10", script=progress_script)
    conn, runner, _ = await agent.connect(url, token="s3cret")
    await ep.run_task("node-10", "fake.task", {"task_id": "t-10"})
    with pytest.raises(ValueError, match="belongs to agent 'node-10'"):
        await ep.run_task("node-11", "fake.task", {"task_id": "t-10"})
    await stop(conn, runner)


async def test_an_unencodable_token_is_refused_and_the_link_ends(endpoint: tuple[Endpoint, str]) -> None:
    # Issue 13 item 4: a lone surrogate made the token check raise, answered `internal`, link kept.
    ep, url = endpoint
    agent = FakeAgent("intruder")
    with pytest.raises(CommandFailed, match="unauthorized"):
        await agent.connect(url, token="\ud800")
    assert ep.agents() == []
    assert not ep.server.links
