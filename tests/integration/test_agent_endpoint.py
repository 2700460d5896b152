"""An endpoint and an agent as two real processes over 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from agent_procs import Procs, make_pki

from teeth_agent.tasks.records import TaskState
from teeth_agent.tasks.store import JsonFileStore


@pytest.fixture
async def procs(tmp_path: Path) -> AsyncIterator[Procs]:
    p = Procs(tmp_path)
    yield p
    await p.close()


async def test_handshake_ping_status_logs_and_a_task_with_progress(procs: Procs) -> None:
    ep = await procs.endpoint("t-progress")
    agent = await procs.agent()
    info = await ep.request("wait_for_agent", agent_id=agent.agent_id)
    assert info["backend"] == "null" and "test.count" in info["methods"] and info["boot_id"]
    assert await ep.request("call", agent_id=agent.agent_id, method="ping", params={"n": 1}) == {"n": 1}
    status = await ep.request("call", agent_id=agent.agent_id, method="status")
    assert status["agent_id"] == agent.agent_id and status["backend"] == "null" and "hardware" in status

    params = {"task_id": "t-progress", "steps": 4, "step_ms": 700}
    final = await ep.request("run_task", agent_id=agent.agent_id, method="test.count", params=params)
    assert final["state"] == "complete" and final["result"] == {"counted": 4}
    running = [e["status"] for e in ep.of("progress")]
    assert running, "no running update reached the endpoint"
    percents = [s["percent"] for s in running]
    assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
    seqs = [s["seq"] for s in running] + [final["seq"]]
    assert seqs == sorted(set(seqs))

    await ep.wait(lambda: any(log.get("task_id") == "t-progress" for log in ep.of("log")))
    step_logs = [log["msg"] for log in ep.of("log") if log.get("task_id") == "t-progress"]
    assert "step 1 of 4" in step_logs
    assert await agent.terminate() == 0  # SIGTERM is a clean exit


async def test_endpoint_killed_mid_task_gets_the_final_status_exactly_once(
    procs: Procs, tmp_path: Path
) -> None:
    hold = tmp_path / "release"
    first = await procs.endpoint("t-kill")
    agent = await procs.agent()
    await first.request("wait_for_agent", agent_id=agent.agent_id)
    params = {"task_id": "t-kill", "steps": 1, "step_ms": 0, "hold_file": str(hold)}
    reply = await first.request("call", agent_id=agent.agent_id, method="test.count", params=params)
    assert reply == {"task_id": "t-kill", "state": "running"}
    await first.wait(lambda: any(e["status"]["task_id"] == "t-kill" for e in first.of("task")))
    await first.kill()
    hold.touch()  # the task finishes while no endpoint is there
    second = await procs.endpoint("t-kill")
    await second.request("wait_for_agent", agent_id=agent.agent_id)
    again = await second.request("run_task", agent_id=agent.agent_id, method="test.count", params=params)
    assert again["state"] == "complete" and again["result"] == {"counted": 1}
    # Round trips after the final: any duplicate would have been published by now.
    await second.request("call", agent_id=agent.agent_id, method="ping")
    await second.request("call", agent_id=agent.agent_id, method="status")
    assert first.finals("t-kill") == []
    assert len(second.finals("t-kill")) == 1
    status = await second.request("call", agent_id=agent.agent_id, method="status")
    assert [(t["task_id"], t["acked"]) for t in status["tasks"]] == [("t-kill", True)]


async def test_agent_restart_resends_the_persisted_final_status(procs: Procs, tmp_path: Path) -> None:
    hold = tmp_path / "release"
    first = await procs.endpoint("t-restart")
    agent = await procs.agent()
    await first.request("wait_for_agent", agent_id=agent.agent_id)
    params = {"task_id": "t-restart", "steps": 1, "step_ms": 0, "hold_file": str(hold)}
    await first.request("call", agent_id=agent.agent_id, method="test.count", params=params)
    await first.kill()
    hold.touch()
    store = JsonFileStore(procs.state_dir)
    await _until(lambda: any(r.state is TaskState.COMPLETE for r in store.load()))
    await agent.kill()  # the final status was never delivered; only the state dir knows it
    second = await procs.endpoint("t-restart")
    restarted = await procs.agent()
    await second.request("wait_for_agent", agent_id=restarted.agent_id)
    await second.wait(lambda: bool(second.finals("t-restart")))
    await second.request("call", agent_id=restarted.agent_id, method="ping")
    assert [(s["state"], s["result"]) for s in second.finals("t-restart")] == [("complete", {"counted": 1})]


async def test_agent_killed_mid_task_reports_it_interrupted_after_restart(
    procs: Procs, tmp_path: Path
) -> None:
    ep = await procs.endpoint("t-cut")
    agent = await procs.agent()
    await ep.request("wait_for_agent", agent_id=agent.agent_id)
    params = {"task_id": "t-cut", "steps": 1, "step_ms": 0, "hold_file": str(tmp_path / "never")}
    await ep.request("call", agent_id=agent.agent_id, method="test.count", params=params)
    await ep.wait(lambda: any(e["status"]["task_id"] == "t-cut" for e in ep.of("task")))
    await agent.kill()
    restarted = await procs.agent()
    await ep.wait(lambda: bool(ep.finals("t-cut")))
    await ep.request("call", agent_id=restarted.agent_id, method="ping")
    (final,) = ep.finals("t-cut")
    assert final["state"] == "error" and final["error"]["type"] == "interrupted"


async def _until(predicate: Callable[[], bool]) -> None:
    """Poll a file-backed condition (the agent's state dir offers no event to wait on)."""
    async with asyncio.timeout(60):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_simulated_machine_names_itself_and_runs_a_flow(procs: Procs) -> None:
    ep = await procs.endpoint()
    await procs.agent(("--backend", "sim", "--profile", "vm"), agent_id=None)
    info = await ep.request("wait_for_agent")
    status = await ep.request("call", agent_id=info["agent_id"], method="status")
    assert info["backend"] == "sim" and info["agent_id"] == status["hardware"]["system"]["serial"]
    assert {"decom.disk_erase", "standbye.run_image"} <= set(info["methods"])
    params = {"task_id": "erase-1"}
    final = await ep.request("run_task", agent_id=info["agent_id"], method="decom.disk_erase", params=params)
    assert final["state"] == "complete" and final["result"]["passed"] is True
    assert len(final["result"]["certificates"]) == len(final["result"]["erased"]) > 0
    with pytest.raises(RuntimeError, match="invalid_params"):
        await ep.request("call", agent_id=info["agent_id"], method="decom.disk_erase", params={"task_id": 5})


async def test_a_token_endpoint_refuses_an_agent_without_it_and_accepts_one_with_it(
    procs: Procs, tmp_path: Path
) -> None:
    ep = await procs.endpoint(options=("--token", "s3cret"))
    stranger = await procs.agent(agent_id="stranger")
    (tmp_path / "token").write_text("s3cret\n")
    friend = await procs.agent(
        ("--backend", "null", "--token-file", str(tmp_path / "token")), agent_id="friend"
    )
    await ep.request("wait_for_agent", agent_id=friend.agent_id)
    assert await ep.request("call", agent_id=friend.agent_id, method="ping", params={"x": 1}) == {"x": 1}
    await _until(lambda: "unauthorized" in stranger.log_path.read_text())
    assert [a["agent_id"] for a in await ep.request("agents")] == ["friend"]
    await stranger.kill()


async def test_mutual_tls_end_to_end(procs: Procs, tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    procs.scheme = "tls"
    ep = await procs.endpoint(
        options=("--tls", str(pki / "server.pem"), str(pki / "server.key"), str(pki / "ca.pem"))
    )
    client = (
        "--ca-file",
        str(pki / "ca.pem"),
        "--cert",
        str(pki / "agent.pem"),
        "--key",
        str(pki / "agent.key"),
    )
    agent = await procs.agent(("--backend", "null", *client))
    await ep.request("wait_for_agent", agent_id=agent.agent_id)
    status = await ep.request("call", agent_id=agent.agent_id, method="status")
    assert status["agent_id"] == agent.agent_id


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


async def _pty_master_streams(fd: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    rfile, wfile = os.fdopen(os.dup(fd), "rb", buffering=0), os.fdopen(os.dup(fd), "wb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), rfile)
    transport, proto = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, wfile)
    return reader, asyncio.StreamWriter(transport, proto, reader, loop)


async def test_character_device_transport_like_a_virtio_port(procs: Procs, tmp_path: Path) -> None:
    """The agent dials a tty device; the test plays the hypervisor, bridging it to the endpoint's socket."""
    sock = tmp_path / "endpoint.sock"
    ep = await procs.endpoint(url=f"unix://{sock}")
    master, slave = os.openpty()
    tty.setraw(master)  # the pair shares one line discipline: no echo, no line editing
    try:
        host_r, host_w = await _pty_master_streams(master)
        ep_r, ep_w = await asyncio.open_unix_connection(str(sock))
        async with asyncio.TaskGroup() as tg:
            bridge = [tg.create_task(_pipe(host_r, ep_w)), tg.create_task(_pipe(ep_r, host_w))]
            agent = await procs.agent(("--backend", "null"), url=os.ttyname(slave))
            await ep.request("wait_for_agent", agent_id=agent.agent_id)
            assert await ep.request(
                "call", agent_id=agent.agent_id, method="ping", params={"via": "tty"}
            ) == {"via": "tty"}
            status = await ep.request("call", agent_id=agent.agent_id, method="status")
            assert status["agent_id"] == agent.agent_id
            await agent.kill()
            for task in bridge:
                task.cancel()
    finally:
        os.close(master)
        os.close(slave)
