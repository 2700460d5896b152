"""How a command is declared: the registry maps a method name to one of these.

Plain commands answer inline. Task commands validate their params synchronously (raising InvalidParams
before any work starts), are answered at once with `{task_id, state}`, then run under the task runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from teeth_agent.backend.api import Backend
from teeth_agent.backend.types import Inventory
from teeth_agent.tasks.context import TaskContext

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class CommandSpec:
    method: str
    handler: Callable[[Mapping[str, Any]], Awaitable[JsonObject]]


@dataclass(frozen=True)
class TaskSpec:
    method: str
    # Pure: params -> a parsed, typed value; raises InvalidParams. Runs before the task is accepted.
    validate: Callable[[Mapping[str, Any]], object]
    # Does the work; returns the `result` of the final `complete` status.
    run: Callable[[TaskContext, Any], Awaitable[JsonObject]]
    # Mutating tasks run one at a time; a second one gets `busy`.
    mutating: bool = True


AfterAck = Callable[[Backend, Mapping[str, Any]], Awaitable[None]]
StartTask = Callable[[TaskSpec, Mapping[str, Any]], JsonObject]


@dataclass(frozen=True)
class AgentIdentity:
    """Who this agent is; fixed for the life of the process."""

    agent_id: str
    agent_version: str
    boot_id: str
    backend: str


@dataclass(frozen=True)
class StatusSources:
    """What the `status` command reads from the running agent."""

    uptime: Callable[[], float]
    tasks: Callable[[], list[JsonObject]]
    inventory: Callable[[], Awaitable[Inventory]]


@dataclass(frozen=True)
class Outcome:
    """A command's answer: `result` on success, else `error` (a wire error payload)."""

    result: JsonObject | None = None
    error: JsonObject | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class CommandTable(Protocol):
    """The methods one agent answers, as the connection sees them."""

    @property
    def methods(self) -> tuple[str, ...]: ...

    async def dispatch(self, method: str, params: Mapping[str, Any]) -> Outcome: ...


class CommandSet(Protocol):
    """Everything the agent's runtime needs from the command layer above it.

    The runtime (`teeth_agent.agent`) sits below `teeth_agent.commands`, which implements this
    (`commands.wiring.AgentCommands`) and is handed in by whoever starts an agent.
    """

    @property
    def after_ack(self) -> Mapping[str, AfterAck]: ...

    def to_error(self, exc: BaseException) -> JsonObject: ...

    def build(
        self, identity: AgentIdentity, sources: StatusSources, start_task: StartTask
    ) -> CommandTable: ...
