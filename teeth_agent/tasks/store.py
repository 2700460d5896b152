"""Persistence of task records, so final statuses survive an agent restart.

One JSON file per task under `<state-dir>/tasks/` (made 0700), named by a digest of the task_id (task ids
come from the endpoint and may hold any character). Each save goes through `atomic_write.write_atomic`: a
crash leaves either the old record or the new one, never half, and no planted symlink is followed. A file
that cannot be read back for any reason (bad JSON, nesting too deep for the parser, wrong fields) is moved
aside (`*.corrupt`) and reported, rather than stopping the agent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path
from typing import Protocol

from teeth_agent.atomic_write import private_dir, write_atomic
from teeth_agent.tasks.records import TaskRecord

log = logging.getLogger(__name__)


class TaskStore(Protocol):
    def load(self) -> list[TaskRecord]: ...

    def save(self, record: TaskRecord) -> None: ...

    def delete(self, task_id: str) -> None: ...


class MemoryStore:
    """A store that forgets on exit: for tests and for simulated fleets that need no restarts."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}

    def load(self) -> list[TaskRecord]:
        return list(self._records.values())

    def save(self, record: TaskRecord) -> None:
        self._records[record.task_id] = record

    def delete(self, task_id: str) -> None:
        self._records.pop(task_id, None)


class JsonFileStore:
    def __init__(self, state_dir: Path, *, fsync: bool = True) -> None:
        self._dir = state_dir / "tasks"
        self._fsync = fsync

    @property
    def directory(self) -> Path:
        return self._dir

    def _path(self, task_id: str) -> Path:
        digest = hashlib.sha256(task_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return self._dir / f"{digest}.json"

    def load(self) -> list[TaskRecord]:
        if not self._dir.is_dir():
            return []
        records = []
        for path in sorted(self._dir.glob("*.json")):
            try:
                records.append(TaskRecord.from_json(json.loads(path.read_bytes())))
            # RecordError is a ValueError; RecursionError comes from JSON nested deeper than the parser
            # goes; OverflowError from a number float() cannot hold. None of them may stop the agent.
            except (OSError, ValueError, RecursionError, OverflowError, TypeError) as exc:
                log.error("task record %s is unreadable (%s); moved aside", path.name, exc)
                with contextlib.suppress(OSError):  # a read-only state dir still lets the agent start
                    path.replace(path.with_suffix(".corrupt"))
        return records

    def save(self, record: TaskRecord) -> None:
        private_dir(self._dir)
        data = json.dumps(record.to_json(), sort_keys=True).encode()
        write_atomic(self._path(record.task_id), data, fsync=self._fsync)

    def delete(self, task_id: str) -> None:
        self._path(task_id).unlink(missing_ok=True)
