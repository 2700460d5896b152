"""One simulated machine of `teeth-sim fleet`: a real agent on a `SimBackend`, kept running across boots.

The machine owns what a real server owns: its identity (serial, agent id), its local state directory (the
agent's task records survive a power loss there), its credentials, and its network link to the endpoint.
Nothing here drives the agent: whatever endpoint it dials decides what it does.

Faults arrive while it runs (`teeth-sim fault`): hardware ones go into the machine model; a dropped link
aborts the current TCP connection (the agent redials); a power loss kills the agent and boots the
ramdisk again with a new boot id and the same state; download faults act on the machine's image traffic
(see downloads.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.machine.backend import SimBackend
from simulator.machine.faults import Fault
from simulator.machine.live_faults import inject
from simulator.machine.machine import RunningOs, SimMachine
from simulator.openfleet.downloads import DownloadFaults, LineRewriter, relay_lines
from teeth_agent.agent import Agent, AgentConfig
from teeth_agent.commands.wiring import AgentCommands
from teeth_agent.dial import STREAM_LIMIT, Backoff, EndpointUrl, Streams, open_endpoint
from teeth_agent.logforward import LogForwarder
from teeth_agent.tasks.records import TaskRecord
from teeth_agent.tasks.store import JsonFileStore, MemoryStore, TaskStore

# Redial quickly (a dropped link is usually a fault under test) but never hammer an endpoint that is down.
FLEET_BACKOFF = Backoff(initial=0.2, factor=2.0, cap=5.0)


class TrackingStore:
    """The machine's task store, remembering the newest record so the status table can show it."""

    def __init__(self, inner: TaskStore) -> None:
        self.inner = inner
        self.latest: TaskRecord | None = None

    def load(self) -> list[TaskRecord]:
        records = self.inner.load()
        if records:
            self.latest = max(records, key=lambda r: r.started_at)
        return records

    def save(self, record: TaskRecord) -> None:
        self.inner.save(record)
        self.latest = record

    def delete(self, task_id: str) -> None:
        self.inner.delete(task_id)


@dataclass
class Identity:
    index: int
    agent_id: str
    profile: str
    token: str | None
    state_dir: Path
    persist: bool  # task records on disk (--state-dir) rather than in memory (the machine's RAM disk)


@dataclass
class LinkState:
    state: str = "down"  # "dialing" | "up" | "down"
    connects: int = 0
    drops: int = 0
    writers: set[asyncio.StreamWriter] = field(default_factory=set)


class MachineHost:
    def __init__(self, ident: Identity, backend: SimBackend, endpoints: tuple[EndpointUrl, ...],
                 rewriter: LineRewriter) -> None:
        self.ident = ident
        self.backend = backend
        self.endpoints = endpoints
        self.link = LinkState()
        self.downloads = DownloadFaults()
        self.injected: list[str] = [f.describe() for f in backend.machine.faults]
        self.power_cycles = 0
        self._rewriter = rewriter
        self._booted = asyncio.Event()
        self._ended = False
        inner: TaskStore = JsonFileStore(ident.state_dir) if ident.persist else MemoryStore()
        self.store = TrackingStore(inner)
        self.machine.listeners.append(self._on_boot)

    @property
    def machine(self) -> SimMachine:
        return self.backend.machine

    @property
    def name(self) -> str:
        return f"m{self.ident.index:05d}"

    def _on_boot(self, machine: SimMachine, running: RunningOs) -> None:
        self._booted.set()

    def _config(self) -> AgentConfig:
        ident = self.ident
        return AgentConfig(endpoints=self.endpoints, state_dir=ident.state_dir, agent_id=ident.agent_id,
                           token=ident.token, backoff=FLEET_BACKOFF)

    async def run(self) -> None:
        """Run agents for as long as the fleet runs: one per ramdisk boot; idle while a tenant runs."""
        while True:
            self._booted.clear()
            if self.machine.running.kind != "ramdisk":
                await self._booted.wait()
                continue
            agent = asyncio.create_task(self._agent())
            booted = asyncio.create_task(self._booted.wait())
            await asyncio.wait({agent, booted}, return_when=asyncio.FIRST_COMPLETED)
            for task in (agent, booted):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._abort_links()
            if not self._booted.is_set():
                self._ended = True
                return  # the agent ended by itself (a bug, or a bad state dir): do not spin

    async def _agent(self) -> None:
        self.ident.state_dir.mkdir(parents=True, exist_ok=True)
        agent = Agent(self._config(), self.backend, logs=LogForwarder(), store=self.store,
                      commands=AgentCommands(), opener=self._open)
        await agent.run()

    async def _open(self, ep: EndpointUrl) -> Streams:
        self.link.state = "dialing"
        try:
            reader, writer = await open_endpoint(ep, None)
        except BaseException:
            self.link.state = "down"
            raise
        if self.downloads.active():
            reader, writer = await self._rewriting(reader, writer)
        self.link.state = "up"
        self.link.connects += 1
        self.link.writers.add(writer)
        asyncio.get_running_loop().create_task(self._watch(writer))
        return reader, writer

    async def _rewriting(self, e_reader: asyncio.StreamReader, e_writer: asyncio.StreamWriter) -> Streams:
        """Streams through an in-process pipe whose endpoint->agent lines get their image URLs rewritten."""
        near, far = socket.socketpair()
        a_reader, a_writer = await asyncio.open_connection(sock=near, limit=STREAM_LIMIT)
        p_reader, p_writer = await asyncio.open_connection(sock=far, limit=STREAM_LIMIT)
        self.link.writers.add(e_writer)
        index = self.ident.index
        asyncio.get_running_loop().create_task(
            relay_lines(p_reader, p_writer, e_reader, e_writer, lambda line: self._rewriter(index, line)))
        return a_reader, a_writer

    async def _watch(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        self.link.writers.discard(writer)
        if not self.link.writers:
            self.link.state = "down"

    def _abort_links(self) -> None:
        for writer in list(self.link.writers):
            writer.transport.abort()

    # -- faults ------------------------------------------------------------------------------------------

    def drop_link(self) -> str:
        if not self.link.writers:
            raise ValueError(f"{self.name} has no link up to drop")
        self.link.drops += 1
        self._abort_links()
        return "link dropped"

    def power_loss(self) -> str:
        """Power off and on: the agent dies mid-whatever, the machine PXE-boots the ramdisk again."""
        self.power_cycles += 1
        self.machine.power_off()
        self.machine.reboot(None)
        return f"power cycled; new boot id {self.machine.boot_id}"

    def hardware(self, fault: Fault) -> str:
        return inject(self.machine, fault)

    def snapshot(self) -> dict[str, Any]:
        rec = self.store.latest
        running = self.machine.running
        os_text = running.kind if running.kind != "tenant" else f"tenant ({running.via})"
        task = None
        if rec is not None:
            task = {"task_id": rec.task_id, "method": rec.method, "state": str(rec.state.value),
                    "percent": round(rec.percent, 1)}
        return {"machine": self.name, "index": self.ident.index, "agent_id": self.ident.agent_id,
                "profile": self.ident.profile, "os": os_text, "boot_id": self.machine.boot_id,
                "link": self.link.state if not self._ended else "agent ended", "connects": self.link.connects,
                "task": task, "faults": list(self.injected), "power_cycles": self.power_cycles}
