"""Persistence of task records, so final statuses survive an agent restart.

One JSON file per task under `<state-dir>/tasks/`, named by a digest of the task_id (task ids come from
the endpoint and may hold any character). Each save is atomic: write a temporary file, fsync it, rename
it over the old one, fsync the directory — a crash leaves either the old record or the new one, never half.
A file that does not parse is moved aside (`*.corrupt`) and reported, rather than stopping the agent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Protocol

from teeth_agent.tasks.records import RecordError, TaskRecord

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
            except (OSError, ValueError, RecordError) as exc:
                log.error("task record %s is unreadable (%s); moved aside", path.name, exc)
                with contextlib.suppress(OSError):  # a read-only state dir still lets the agent start
                    path.replace(path.with_suffix(".corrupt"))
        return records

    def save(self, record: TaskRecord) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._path(record.task_id)
        # Named per process: a reader (or a second agent by mistake) never sees or removes our half-write.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = json.dumps(record.to_json(), sort_keys=True).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if self._fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if self._fsync:
            self._sync_dir()

    def delete(self, task_id: str) -> None:
        self._path(task_id).unlink(missing_ok=True)

    def _sync_dir(self) -> None:
        fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
