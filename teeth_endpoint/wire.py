"""Pure readers for what agents send the endpoint: handshake, task_status and log params.

Each returns a frozen value or raises `BadParams` naming the field; the server turns that into an
`invalid_params` error (a command failure, not a protocol violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from teeth_agent.protocol import JsonObject

TASK_STATES = ("running", "error", "complete")
MAX_METHODS = 1024  # an agent record is kept for as long as the endpoint runs: keep it small
MAX_NAME = 128
FINAL_STATES = ("error", "complete")


class BadParams(ValueError):
    def __init__(self, field: str, msg: str) -> None:
        super().__init__(f"{field}: {msg}")
        self.field = field


def _str(params: JsonObject, field: str, *, required: bool = True, max_len: int = 256) -> str:
    value = params.get(field)
    if value is None and not required:
        return ""
    if type(value) is not str or (required and not value):
        raise BadParams(field, "must be a non-empty string")
    if len(value) > max_len:
        raise BadParams(field, f"longer than {max_len} characters")
    return value


@dataclass(frozen=True)
class Handshake:
    agent_id: str
    boot_id: str
    agent_version: str
    backend: str
    methods: tuple[str, ...]
    tasks: tuple[JsonObject, ...]
    token: str | None


def parse_handshake(params: JsonObject) -> Handshake:
    methods = params.get("methods", [])
    if type(methods) is not list or not all(type(m) is str and len(m) <= MAX_NAME for m in methods):
        raise BadParams("methods", f"must be a list of strings of at most {MAX_NAME} characters")
    if len(methods) > MAX_METHODS:
        raise BadParams("methods", f"more than {MAX_METHODS} methods")
    tasks = params.get("tasks", [])
    if type(tasks) is not list or not all(type(t) is dict and type(t.get("task_id")) is str for t in tasks):
        raise BadParams("tasks", "must be a list of objects with a task_id")
    token = params.get("token")
    if token is not None and type(token) is not str:
        raise BadParams("token", "must be a string")
    return Handshake(
        agent_id=_str(params, "agent_id"),
        boot_id=_str(params, "boot_id"),
        agent_version=_str(params, "agent_version", required=False),
        backend=_str(params, "backend", required=False),
        methods=tuple(methods),
        tasks=tuple(tasks),
        token=token,
    )


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    method: str
    seq: int
    state: str
    params: JsonObject  # everything the agent sent (percent/eta, msg/error, result)

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def _number(params: JsonObject, field: str) -> float | None:
    value = params.get(field)
    if value is None:
        return None
    if type(value) not in (int, float):
        raise BadParams(field, "must be a number or null")
    return float(value)


def parse_task_status(params: JsonObject) -> TaskStatus:
    seq = params.get("seq")
    if type(seq) is not int or seq < 0:
        raise BadParams("seq", "must be a non-negative integer")
    state = params.get("state")
    if state not in TASK_STATES:
        raise BadParams("state", f"must be one of {', '.join(TASK_STATES)}")
    if state == "running":
        percent = _number(params, "percent")
        if percent is not None and not 0 <= percent <= 100:
            raise BadParams("percent", "must be between 0 and 100")
        _number(params, "eta")
    elif state == "complete" and type(params.get("result", {})) is not dict:
        raise BadParams("result", "must be an object")
    return TaskStatus(_str(params, "task_id"), _str(params, "method", required=False), seq, state, params)


@dataclass(frozen=True)
class LogRecord:
    agent_id: str
    level: str
    msg: str
    time: float | None
    logger: str
    task_id: str | None
    fields: JsonObject

    def to_json(self) -> JsonObject:
        return {
            "agent_id": self.agent_id,
            "level": self.level,
            "msg": self.msg,
            "time": self.time,
            "logger": self.logger,
            "task_id": self.task_id,
            "fields": self.fields,
        }


def parse_log(agent_id: str, params: JsonObject) -> LogRecord:
    level = params.get("level")
    if type(level) is not str or not level or len(level) > 16:
        raise BadParams("level", "must be a level name such as info or error")
    msg = params.get("msg")
    if type(msg) is not str:
        raise BadParams("msg", "must be a string")
    fields: Any = params.get("fields") or {}
    if type(fields) is not dict:
        raise BadParams("fields", "must be an object")
    task_id = params.get("task_id")
    if task_id is not None and type(task_id) is not str:
        raise BadParams("task_id", "must be a string")
    return LogRecord(
        agent_id=agent_id,
        level=level.lower(),
        msg=msg,
        time=_number(params, "time"),
        logger=_str(params, "logger", required=False),
        task_id=task_id,
        fields=fields,
    )
