"""How a command is declared: the registry maps a method name to one of these.

Plain commands answer inline. Task commands validate their params synchronously (raising InvalidParams
before any work starts), are answered at once with `{task_id, state}`, then run under the task runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
