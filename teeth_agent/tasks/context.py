"""What a long-running command (a task) gets from the runner."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from teeth_agent.backend.api import Backend, Progress


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
