"""Task records: what the agent remembers about each task, and how it is said on the wire.

A record changes only by producing a new one (frozen). Every change that the endpoint should hear about
takes the next `seq`, so a status re-sent after a reconnect or a restart carries the same seq as before and
the endpoint can drop the duplicate. A final record (`error` or `complete`) never changes again, except to
note that the endpoint acknowledged it.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

JsonObject = dict[str, Any]


class TaskState(enum.StrEnum):
    RUNNING = "running"
    ERROR = "error"
    COMPLETE = "complete"

    @property
    def final(self) -> bool:
        return self is not TaskState.RUNNING


class RecordError(ValueError):
    """A stored record is not what this agent writes; the message names the field."""


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    method: str
    state: TaskState = TaskState.RUNNING
    seq: int = 1
    mutating: bool = True
    percent: float = 0.0
    eta: float | None = None
    result: JsonObject | None = None
    # The wire error payload {type, msg, details?} when state is error.
    error: JsonObject | None = None
    acked: bool = False
    started_at: float = 0.0
    finished_at: float | None = None

    @property
    def final(self) -> bool:
        return self.state.final

    def progressed(self, percent: float, eta: float | None) -> TaskRecord:
        if self.final:
            raise ValueError(f"task {self.task_id} is already {self.state}")
        # Percent never goes backwards, whatever the flow reports.
        return replace(self, seq=self.seq + 1, percent=max(self.percent, percent), eta=eta)

    def completed(self, result: JsonObject, now: float) -> TaskRecord:
        return self._finish(TaskState.COMPLETE, now, result=result)

    def failed(self, error: JsonObject, now: float) -> TaskRecord:
        return self._finish(TaskState.ERROR, now, error=error)

    def _finish(self, state: TaskState, now: float, **fields: Any) -> TaskRecord:
        if self.final:
            raise ValueError(f"task {self.task_id} is already {self.state}")
        return replace(self, state=state, seq=self.seq + 1, eta=None, finished_at=now, **fields)

    def acknowledged(self) -> TaskRecord:
        return replace(self, acked=True)

    def status_params(self) -> JsonObject:
        """Params of the `task_status` command that reports this record."""
        out: JsonObject = {"task_id": self.task_id, "method": self.method, "seq": self.seq}
        out["state"] = str(self.state)
        if self.state is TaskState.RUNNING:
            out["percent"] = round(self.percent, 1)
            out["eta"] = None if self.eta is None else round(self.eta, 1)
        elif self.state is TaskState.COMPLETE:
            out["result"] = self.result or {}
        else:
            err = self.error or {"type": "internal", "msg": "unknown error"}
            out["msg"] = err.get("msg", "")
            out["error"] = err
        return out

    def summary(self) -> JsonObject:
        """What a repeated task command and the handshake say about this task (its full last status)."""
        out = self.status_params()
        out["acked"] = self.acked
        return out

    def brief(self) -> JsonObject:
        """A summary without result or error details, for listings (`status`) that must stay small."""
        out: JsonObject = {"task_id": self.task_id, "method": self.method, "seq": self.seq}
        out.update(state=str(self.state), percent=round(self.percent, 1), acked=self.acked)
        if self.error is not None:
            out["msg"] = self.error.get("msg", "")
        return out

    def to_json(self) -> JsonObject:
        return {
            "task_id": self.task_id,
            "method": self.method,
            "state": str(self.state),
            "seq": self.seq,
            "mutating": self.mutating,
            "percent": self.percent,
            "eta": self.eta,
            "result": self.result,
            "error": self.error,
            "acked": self.acked,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> TaskRecord:
        if not isinstance(data, dict):
            raise RecordError("record: expected an object")
        try:
            state = TaskState(_field(data, "state", str))
        except ValueError:
            raise RecordError(f"state: unknown state {data.get('state')!r}") from None
        return cls(
            task_id=_field(data, "task_id", str),
            method=_field(data, "method", str),
            state=state,
            seq=_field(data, "seq", int),
            mutating=_field(data, "mutating", bool),
            percent=float(_field(data, "percent", (int, float))),
            eta=_optional(data, "eta", (int, float)),
            result=_optional(data, "result", dict),
            error=_optional(data, "error", dict),
            acked=_field(data, "acked", bool),
            started_at=float(_field(data, "started_at", (int, float))),
            finished_at=_optional(data, "finished_at", (int, float)),
        )


def _field(data: JsonObject, name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if value is None or not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RecordError(f"{name}: missing or of the wrong type")
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(f"{name}: not a finite number")
    return value


def _optional(data: JsonObject, name: str, kind: type | tuple[type, ...]) -> Any:
    return None if data.get(name) is None else _field(data, name, kind)
