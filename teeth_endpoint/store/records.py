"""Values the store returns, and the status it is given to write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class AgentRecord:
    agent_id: str
    boot_id: str
    agent_version: str
    backend: str
    methods: tuple[str, ...]
    peer: str
    boots: int
    first_seen: float
    last_seen: float
    connected: bool
    holder: str | None  # the instance holding its link, while connected
    epoch: int  # bumped by every new link: the fencing token

    def to_json(self) -> JsonObject:
        return {
            "agent_id": self.agent_id,
            "boot_id": self.boot_id,
            "agent_version": self.agent_version,
            "backend": self.backend,
            "methods": list(self.methods),
            "peer": self.peer,
            "boots": self.boots,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "connected": self.connected,
            "instance": self.holder if self.connected else None,
        }


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    agent_id: str
    method: str
    params: JsonObject
    started_by: str
    created: float
    state: str  # "pending" until the agent's first status, then running / complete / error
    seq: int
    status: JsonObject  # the latest task_status params as the agent sent them
    updated: float

    @property
    def final(self) -> bool:
        return self.state in ("complete", "error")

    def to_json(self) -> JsonObject:
        out: JsonObject = {
            "task_id": self.task_id,
            "agent_id": self.agent_id,
            "method": self.method,
            "params": self.params,
            "started_by": self.started_by,
            "created": self.created,
            "updated": self.updated,
            "state": self.state,
            "seq": self.seq,
        }
        for key in ("percent", "eta", "result", "msg", "error"):
            if key in self.status:
                out[key] = self.status[key]
        return out


@dataclass(frozen=True)
class StatusIn:
    """One task_status to make durable."""

    agent_id: str
    task_id: str
    method: str
    seq: int
    state: str
    params: JsonObject
    received: float

    @property
    def final(self) -> bool:
        return self.state in ("complete", "error")


@dataclass
class WriteOutcome:
    """What one batch changed: tasks with a newer status, finals recorded for the first time."""

    changed: list[tuple[str, int]] = field(default_factory=list)  # (task_id, seq)
    new_finals: list[str] = field(default_factory=list)
    certificates: int = 0
    bad_seals: list[tuple[str, str]] = field(default_factory=list)  # (task_id, why)


@dataclass(frozen=True)
class Command:
    command_id: int
    agent_id: str
    origin: str
    target: str
    method: str
    params: JsonObject


@dataclass(frozen=True)
class LinkUp:
    agent_id: str
    boot_id: str
    agent_version: str
    backend: str
    methods: tuple[str, ...]
    peer: str
    instance: str
    now: float


@dataclass(frozen=True)
class LinkDown:
    agent_id: str
    instance: str
    epoch: int
    now: float
