"""The explicit command registry: method name -> CommandSpec or TaskSpec, and the ONE place where
exceptions become wire error payloads `{type, msg, details?}`.

- CommandError (and subclasses) -> its own type/msg/details.
- HttpError (the HTTP client's tree) -> its type/msg/details.
- BackendError -> its `type`, its message, and what it carries (tool argv/exit code/stderr tail, offset).
- TimeoutError -> `timeout`.
- Anything else -> `internal` with the exception's class name only; the traceback stays in the local log.

`standby.*` is accepted as an alias of the seed's `standbye.*` (the alias table is the protocol's,
`teeth_agent.protocol.methods`). Task families are assembled from the flow modules
(`teeth_agent.commands.decom`, `teeth_agent.commands.standby`, each exporting `TASKS`) when they can be
imported, plus any plugin modules named on the command line (which may export `COMMANDS` and `TASKS`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.errors import BackendError, DeviceIOError, ToolError
from teeth_agent.errors import CommandError, UnknownMethod
from teeth_agent.http.errors import HttpError
from teeth_agent.protocol.methods import canonical_method
from teeth_agent.tasks.spec import AfterAck, CommandSpec, JsonObject, Outcome, StartTask, TaskSpec

log = logging.getLogger(__name__)

FLOW_MODULES = ("teeth_agent.commands.decom", "teeth_agent.commands.standby")


def error_payload(exc: BaseException) -> JsonObject:
    """Turn any exception into the `error` object of a wire error (or a task's error status)."""
    if isinstance(exc, CommandError):
        return exc.payload()
    if isinstance(exc, HttpError):
        http: JsonObject = {"type": exc.type, "msg": exc.msg}
        if exc.details:
            http["details"] = exc.details
        return http
    if isinstance(exc, BackendError):
        out: JsonObject = {"type": exc.type, "msg": str(exc) or exc.type}
        details = _backend_details(exc)
        if details:
            out["details"] = details
        return out
    if isinstance(exc, TimeoutError):
        return {"type": "timeout", "msg": str(exc) or "the operation timed out"}
    log.error("internal error: %s: %s", type(exc).__name__, exc, exc_info=exc)
    return {"type": "internal", "msg": f"internal error ({type(exc).__name__}); see the agent log"}


def _backend_details(exc: BackendError) -> JsonObject:
    if isinstance(exc, ToolError):
        return {"argv": list(exc.argv), "returncode": exc.returncode, "stderr": exc.stderr[-500:]}
    if isinstance(exc, DeviceIOError) and exc.offset is not None:
        return {"offset": exc.offset}
    return {}


class Registry:
    def __init__(
        self, commands: Iterable[CommandSpec], tasks: Iterable[TaskSpec], start_task: StartTask
    ) -> None:
        self._commands: dict[str, CommandSpec] = {}
        self._tasks: dict[str, TaskSpec] = {}
        for spec in commands:
            self._add(self._commands, spec.method, spec)
        for task in tasks:
            self._add(self._tasks, task.method, task)
        self._start_task = start_task

    def _add(self, table: dict[str, Any], method: str, spec: Any) -> None:
        if method in self._commands or method in self._tasks:
            raise ValueError(f"method {method!r} is registered twice")
        if canonical_method(method) != method:
            raise ValueError(f"register {method!r} under its canonical name {canonical_method(method)!r}")
        table[method] = spec

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted([*self._commands, *self._tasks]))

    @property
    def task_methods(self) -> tuple[str, ...]:
        return tuple(sorted(self._tasks))

    async def dispatch(self, method: str, params: Mapping[str, Any]) -> Outcome:
        """Run one incoming command; never raises (except cancellation)."""
        try:
            return Outcome(result=await self._call(canonical_method(method), params))
        except Exception as exc:
            return Outcome(error=error_payload(exc))

    async def _call(self, method: str, params: Mapping[str, Any]) -> JsonObject:
        command = self._commands.get(method)
        if command is not None:
            return await command.handler(params)
        task = self._tasks.get(method)
        if task is not None:
            return self._start_task(task, params)
        raise UnknownMethod(f"unknown method {method!r}", details={"method": method})


@dataclass(frozen=True)
class Loaded:
    """What command modules export: COMMANDS, TASKS, and AFTER_ACK (method -> act once the final
    `complete` status of such a task is acknowledged, e.g. kexec after run_image)."""

    commands: tuple[CommandSpec, ...] = ()
    tasks: tuple[TaskSpec, ...] = ()
    after_ack: Mapping[str, AfterAck] = field(default_factory=dict)


def load_specs(modules: Iterable[str], *, required: bool = False) -> Loaded:
    """Collect the specs exported by each module.

    Optional modules (the flow families) that are missing or broken are skipped with a log line: an agent
    that cannot erase should still answer `status` rather than leave the machine unreachable. Modules the
    operator named (`required`) must load.
    """
    commands: list[CommandSpec] = []
    tasks: list[TaskSpec] = []
    after_ack: dict[str, AfterAck] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            if required:
                raise
            absent = isinstance(exc, ModuleNotFoundError) and exc.name == name
            log.log(logging.INFO if absent else logging.ERROR, "command module %s not loaded: %s", name, exc)
            continue
        commands.extend(getattr(module, "COMMANDS", ()))
        tasks.extend(getattr(module, "TASKS", ()))
        after_ack.update(getattr(module, "AFTER_ACK", {}))
    return Loaded(tuple(commands), tuple(tasks), after_ack)
