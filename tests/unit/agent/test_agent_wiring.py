"""The agent's wiring, in one process: an Agent against a fake endpoint over 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agent_fake_endpoint import FakeEndpoint
from agent_fakes import Gate, gate_spec

from teeth_agent.agent import Agent, AgentConfig, choose_agent_id
from teeth_agent.backend.null import NullBackend
from teeth_agent.backend.types import BootMode, Cpu, DmiInfo, Inventory, Nic
from teeth_agent.commands.wiring import AgentCommands
from teeth_agent.connection import CommandFailed
from teeth_agent.dial import Backoff, parse_endpoint
from teeth_agent.logforward import LogForwarder
from teeth_agent.tasks.records import TaskRecord, TaskState
from teeth_agent.tasks.store import JsonFileStore

FAST = Backoff(initial=0.02, factor=2.0, cap=0.2, jitter=0.5)


@pytest.fixture
def forwarder() -> Iterator[LogForwarder]:
    handler = LogForwarder(capacity=50)
    logger = logging.getLogger("teeth_agent")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


class Harness:
    def __init__(self, tmp_path: Path, forwarder: LogForwarder) -> None:
        self.tmp_path = tmp_path
        self.forwarder = forwarder
        self.gate = Gate()
        self._running: list[asyncio.Task[None]] = []

    def agent(self, *ports: int, agent_id: str | None = "agent-1", token: str | None = None) -> Agent:
        config = AgentConfig(
            endpoints=tuple(parse_endpoint(f"tcp://127.0.0.1:{p}") for p in ports),
            state_dir=self.tmp_path / "state",
            agent_id=agent_id,
            token=token,
            backoff=FAST,
        )
        backend = NullBackend(serial="SN-1")
        commands = AgentCommands(extra_tasks=(gate_spec(self.gate),))
        return Agent(config, backend, logs=self.forwarder, commands=commands)

    def start(self, agent: Agent) -> asyncio.Task[None]:
        task = asyncio.create_task(agent.run())
        self._running.append(task)
        return task

    async def stop(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        for task in self._running:
            await self.stop(task)


@pytest.fixture
async def harness(tmp_path: Path, forwarder: LogForwarder) -> AsyncIterator[Harness]:
    h = Harness(tmp_path, forwarder)
    yield h
    await h.close()


async def test_handshake_first_then_ping_status_and_errors(harness: Harness) -> None:
    ep = FakeEndpoint()
    harness.start(harness.agent(await ep.start(), agent_id=None, token="s3cret"))
    await ep.wait(lambda: bool(ep.handshakes))
    hs = ep.handshakes[0]
    assert hs["agent_id"] == "SN-1" and hs["backend"] == "null" and hs["token"] == "s3cret"
    assert {"ping", "status", "test.gate"} <= set(hs["methods"]) and hs["tasks"] == []
    assert hs["boot_id"] and hs["agent_version"]
    assert await ep.link.call("ping", {"n": [1, 2]}) == {"n": [1, 2]}
    status = await ep.link.call("status")
    assert status["agent_id"] == "SN-1" and status["tasks"] == [] and status["uptime"] >= 0
    assert status["hardware"]["system"]["serial"] == "SN-1"
    with pytest.raises(CommandFailed) as err:
        await ep.link.call("standby.nothing")
    assert err.value.error.type == "unknown_method"
    with pytest.raises(CommandFailed) as err:
        await ep.link.call("test.gate", {})
    assert err.value.error.type == "invalid_params" and err.value.error.details == {"field": "task_id"}


async def test_task_progress_idempotency_busy_and_acknowledged_final(harness: Harness) -> None:
    ep = FakeEndpoint()
    harness.start(harness.agent(await ep.start()))
    await ep.wait(lambda: bool(ep.handshakes))
    assert await ep.link.call("test.gate", {"task_id": "t1"}) == {"task_id": "t1", "state": "running"}
    await harness.gate.started.wait()
    again = await ep.link.call("test.gate", {"task_id": "t1"})
    assert again["state"] == "running" and harness.gate.runs == 1
    with pytest.raises(CommandFailed) as err:
        await ep.link.call("test.gate", {"task_id": "t2"})
    assert err.value.error.type == "busy" and err.value.error.details == {"task_id": "t1"}
    harness.gate.release.set()
    await ep.wait(lambda: bool(ep.finals("t1")))
    mine = [s for s in ep.statuses if s["task_id"] == "t1"]
    assert [s["seq"] for s in mine] == sorted({s["seq"] for s in mine})
    running = [s["percent"] for s in mine if s["state"] == "running"]
    assert running == sorted(running)
    assert ep.finals("t1") == [mine[-1]] and mine[-1]["result"] == {"done": True}
    status = await ep.link.call("status")
    assert status["tasks"][0]["acked"] is True and status["tasks"][0]["state"] == "complete"


async def test_final_status_delivered_once_after_endpoint_restart(harness: Harness) -> None:
    first = FakeEndpoint()
    port = await first.start()
    harness.start(harness.agent(port))
    await first.wait(lambda: bool(first.handshakes))
    await first.link.call("test.gate", {"task_id": "t1"})
    await harness.gate.started.wait()
    await first.kill()
    harness.gate.release.set()  # the task ends while no endpoint is there
    second = FakeEndpoint()
    await second.start(port)
    await second.wait(lambda: bool(second.finals("t1")))
    outstanding = second.handshakes[0]["tasks"]
    assert [(t["task_id"], t["state"], t["acked"]) for t in outstanding] == [("t1", "complete", False)]
    assert first.finals("t1") == []
    await second.link.call("ping")  # a round trip later, still exactly one final
    assert len(second.finals("t1")) == 1


async def test_restart_reports_interrupted_and_resends_unacked_finals(harness: Harness) -> None:
    store = JsonFileStore(harness.tmp_path / "state")
    store.save(TaskRecord("cut", "test.gate", seq=7, percent=40.0, started_at=1.0))
    done = TaskRecord("done", "test.gate", started_at=2.0).completed({"ok": 1}, 3.0)
    store.save(done)
    ep = FakeEndpoint()
    harness.start(harness.agent(await ep.start()))
    await ep.wait(lambda: bool(ep.finals("cut")) and bool(ep.finals("done")))
    cut = ep.finals("cut")[0]
    assert cut["state"] == "error" and cut["error"]["type"] == "interrupted" and cut["seq"] == 8
    assert ep.finals("done")[0]["seq"] == done.seq and ep.finals("done")[0]["result"] == {"ok": 1}
    assert {t["task_id"] for t in ep.handshakes[0]["tasks"]} == {"cut", "done"}
    await ep.link.call("ping")
    assert all(r.acked for r in store.load())


async def test_logs_buffered_while_disconnected_report_what_was_dropped(tmp_path: Path) -> None:
    forwarder = LogForwarder(capacity=3)
    logger = logging.getLogger("teeth_agent.test_logs")
    logger.addHandler(forwarder)
    logger.setLevel(logging.INFO)
    try:
        for n in range(5):
            logger.info("record %d", n, extra={"disk": "/dev/sda"})
        ep = FakeEndpoint()
        harness = Harness(tmp_path, forwarder)
        harness.start(harness.agent(await ep.start()))
        await ep.wait(lambda: len(ep.logs) >= 4)
        await harness.close()
    finally:
        logger.removeHandler(forwarder)
    assert ep.logs[0]["level"] == "warning" and ep.logs[0]["fields"] == {"dropped": 2}
    mine = [entry for entry in ep.logs if entry["logger"] == "teeth_agent.test_logs"]
    assert [entry["msg"] for entry in mine] == ["record 2", "record 3", "record 4"]
    assert mine[0]["fields"] == {"disk": "/dev/sda"}


async def test_refused_handshake_backs_off_and_sends_nothing_else(harness: Harness) -> None:
    ep = FakeEndpoint(accept=False)
    harness.start(harness.agent(await ep.start()))
    await ep.wait(lambda: len(ep.handshakes) >= 3)
    assert ep.logs == [] and ep.statuses == []


async def test_fails_over_to_the_next_endpoint(harness: Harness) -> None:
    dead = FakeEndpoint()
    dead_port = await dead.start()
    await dead.kill()
    ep = FakeEndpoint()
    harness.start(harness.agent(dead_port, await ep.start()))
    await ep.wait(lambda: bool(ep.handshakes))
    assert ep.handshakes[0]["agent_id"] == "agent-1"


def test_agent_id_prefers_a_real_serial_then_the_first_mac() -> None:
    def inv(serial: str | None, macs: tuple[str, ...]) -> Inventory:
        nics = tuple(Nic(name=f"eth{i}", mac=m) for i, m in enumerate(macs))
        return Inventory(DmiInfo(serial=serial), Cpu("x", 1, 1), 1024, (), nics, BootMode.UEFI)

    assert choose_agent_id(inv("ABC123", ("aa:bb:cc:dd:ee:ff",)), "fb") == "ABC123"
    assert choose_agent_id(
        inv("To Be Filled By O.E.M.", ("00:00:00:00:00:00", "AA:BB:CC:00:00:01")), "fb"
    ) == ("aa:bb:cc:00:00:01")
    assert choose_agent_id(inv(None, ()), "fb") == "fb"
    assert choose_agent_id(None, "fb") == "fb"
    assert TaskState.RUNNING.final is False


async def test_an_endpoint_talking_garbage_is_dropped_and_redialed(harness: Harness) -> None:
    """After a protocol violation the agent sends fatal_error, hangs up and dials again."""
    handshakes: list[bytes] = []
    got_fatal: list[bytes] = []
    twice = asyncio.Event()

    async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handshakes.append(await reader.readline())
        writer.write(b"\xff\xfe this is not json\n")
        await writer.drain()
        got_fatal.append(await reader.readline())
        writer.close()
        if len(handshakes) >= 2:
            twice.set()

    server = await asyncio.start_server(hostile, "127.0.0.1", 0)
    async with server:
        harness.start(harness.agent(server.sockets[0].getsockname()[1]))
        async with asyncio.timeout(20):
            await twice.wait()
    assert all(b'"method": "handshake"' in line or b'"method":"handshake"' in line for line in handshakes)
    assert all(b"fatal_error" in line for line in got_fatal)
