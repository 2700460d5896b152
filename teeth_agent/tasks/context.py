"""What a long-running command (a task) gets from the runner."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from teeth_agent.backend.api import Backend, Progress

# The task whose code is running, set by the runner in each task's own context (asyncio tasks and
# to_thread() inherit it); the log forwarder tags records with it.
current_task_id: ContextVar[str | None] = ContextVar("teeth_agent_task_id", default=None)


@dataclass(frozen=True)
class TaskContext:
    task_id: str
    method: str
    backend: Backend
    # done/total in the task's own unit; the runner turns it into percent and an ETA from the measured rate.
    progress: Progress
    # Records carry task_id; they reach the endpoint as `log` messages.
    log: logging.LoggerAdapter[logging.Logger]
    # Persistent, agent-owned directory on local storage (never assume it is large).
    state_dir: Path
