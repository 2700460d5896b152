"""What the endpoint knows about its agents and their tasks. Pure bookkeeping: no I/O, no clock of its own.

- Agents are keyed by `agent_id`; a handshake with a new `boot_id` counts a reboot.
- Task statuses are deduplicated by `(task_id, seq)`: a status whose seq is not newer than the last one
  recorded for that task is a duplicate (the agent re-sent it because our acknowledgement was lost) and is
  acknowledged again but reported to nobody. Nothing follows a final status.
- Memory is bounded against agents that misbehave too: past `max_tasks`, the oldest finished tasks are
  forgotten first, then the oldest of any state; past `max_agents`, the longest-gone agents are forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

from teeth_agent.protocol import JsonObject
from teeth_endpoint.wire import Handshake, TaskStatus


@dataclass(frozen=True)
class AgentView:
    agent_id: str
    boot_id: str
    agent_version: str
    backend: str
    methods: tuple[str, ...]
    peer: str
    connected: bool
    since: float  # when it last connected or disconnected (epoch seconds)
    boots: int = 1  # distinct boot_ids seen in a row of handshakes

    def to_json(self) -> JsonObject:
        return {
            "agent_id": self.agent_id,
            "boot_id": self.boot_id,
            "agent_version": self.agent_version,
            "backend": self.backend,
            "methods": list(self.methods),
            "peer": self.peer,
            "connected": self.connected,
            "since": self.since,
            "boots": self.boots,
        }


@dataclass(frozen=True)
class TaskView:
    task_id: str
    agent_id: str
    method: str
    state: str
    seq: int
    status: JsonObject  # the task_status params as the agent sent them
    updated: float

    @property
    def final(self) -> bool:
        return self.state in ("error", "complete")

    def to_json(self) -> JsonObject:
        return {**self.status, "agent_id": self.agent_id, "updated": self.updated}


class AgentTable:
    def __init__(self, *, max_tasks: int = 100_000, max_agents: int = 100_000) -> None:
        self._agents: dict[str, AgentView] = {}
        self._tasks: OrderedDict[str, TaskView] = OrderedDict()
        self._max_tasks = max_tasks
        self._max_agents = max_agents

    def connected(self, hs: Handshake, peer: str, now: float) -> tuple[AgentView, bool]:
        """Record a handshake; returns the agent and whether it rebooted since we last saw it."""
        old = self._agents.get(hs.agent_id)
        rebooted = old is not None and old.boot_id != hs.boot_id
        boots = 1 if old is None else old.boots + int(rebooted)
        info = AgentView(
            hs.agent_id, hs.boot_id, hs.agent_version, hs.backend, hs.methods, peer, True, now, boots
        )
        self._agents[hs.agent_id] = info
        if len(self._agents) > self._max_agents:
            self._forget_gone_agents()
        return info, rebooted

    def _forget_gone_agents(self) -> None:
        gone = sorted((a for a in self._agents.values() if not a.connected), key=lambda a: a.since)
        for info in gone[: len(self._agents) - self._max_agents]:
            del self._agents[info.agent_id]

    def disconnected(self, agent_id: str, now: float) -> AgentView | None:
        """The agent's new record, or None if it was not connected."""
        info = self._agents.get(agent_id)
        if info is None or not info.connected:
            return None
        self._agents[agent_id] = gone = replace(info, connected=False, since=now)
        return gone

    def agent(self, agent_id: str) -> AgentView | None:
        return self._agents.get(agent_id)

    def agents(self) -> list[AgentView]:
        return sorted(self._agents.values(), key=lambda a: a.agent_id)

    def task(self, task_id: str) -> TaskView | None:
        return self._tasks.get(task_id)

    def tasks(self, agent_id: str | None = None) -> list[TaskView]:
        return [t for t in self._tasks.values() if agent_id is None or t.agent_id == agent_id]

    def record(self, agent_id: str, status: TaskStatus, now: float) -> TaskView | None:
        """The new view of the task, or None when the status is a duplicate or comes after a final one."""
        old = self._tasks.get(status.task_id)
        if old is not None and (status.seq <= old.seq or old.final):
            return None
        method = status.method or (old.method if old else "")
        view = TaskView(status.task_id, agent_id, method, status.state, status.seq, status.params, now)
        self._tasks[status.task_id] = view
        self._tasks.move_to_end(status.task_id)
        self._evict()
        return view

    def _evict(self) -> None:
        if len(self._tasks) <= self._max_tasks:
            return
        # Down to 90% at once, so a full book is not scanned again on every status.
        target = self._max_tasks * 9 // 10
        for task_id in [t.task_id for t in self._tasks.values() if t.final]:
            del self._tasks[task_id]
            if len(self._tasks) <= target:
                return
        while len(self._tasks) > target:  # only open tasks left: somebody floods us; oldest go first
            self._tasks.popitem(last=False)
