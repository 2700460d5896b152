"""The task runner: accepts task commands, runs them, and records every status they go through.

- The same task_id never starts work twice: it answers the task's current state.
- One mutating task at a time; another one gets `busy` (after its params were validated, so a bad request
  is told what is wrong with it rather than to come back later).
- Every status change is saved (atomically) before it is handed to `on_status`, so what the endpoint was
  told is never ahead of what survives a restart. A task found `running` at start-up was cut short by the
  restart: it becomes an `error` (type `interrupted`) to be delivered like any final status.
- Exceptions of a task become its `error` status through `to_error` (the command registry's one mapping).
- Some tasks end by acting on the machine (run_image kexecs or reboots): their `after_ack` hook runs once
  the endpoint acknowledged the final `complete` status, or a bounded wait for that ran out. Until the hook
  is done no other mutating task may start. An unacknowledged `complete` found at start-up (the agent was
  restarted in between) gets its hook too, after the acknowledgement.
- Readiness is a handshake, not a guess: `start` refuses until `run()` owns its TaskGroup, and `run()`
  says so through `wait_started()`. `async with runner.running():` runs it for the body of a block.
- Two clocks: `running` updates are paced on the event loop's (real) time, since the throttle protects the
  link and the endpoint; `backend.clock` gives timestamps and the rate behind the ETA, in the hardware's
  seconds (a simulated machine's clock runs thousands of times faster than the wall).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, Clock
from teeth_agent.errors import Busy, CommandError, Internal, InvalidParams
from teeth_agent.params import get_str
from teeth_agent.tasks.context import TaskContext, current_task_id
from teeth_agent.tasks.progress import Update
from teeth_agent.tasks.records import JsonObject, TaskRecord, TaskState
from teeth_agent.tasks.reporter import ProgressReporter
from teeth_agent.tasks.spec import TaskSpec
from teeth_agent.tasks.store import TaskStore

log = logging.getLogger(__name__)
task_log = logging.getLogger("teeth_agent.task")

StatusSink = Callable[[TaskRecord], None]
AfterAck = Callable[[Backend, Mapping[str, Any]], Awaitable[None]]
ErrorMapper = Callable[[BaseException], JsonObject]
MAX_TASK_ID = 200
# A final status must fit in one protocol line (1 MiB) with room to spare, or it could never be delivered.
MAX_RESULT_BYTES = 768 * 1024


class ResultTooLarge(CommandError):
    type = "result_too_large"


class TaskRunner:
    def __init__(
        self,
        *,
        backend: Backend,
        store: TaskStore,
        state_dir: Path,
        to_error: ErrorMapper,
        on_status: StatusSink,
        min_interval: float = 1.0,
        max_interval: float = 10.0,
        keep_acked: int = 100,
        after_ack: Mapping[str, AfterAck] | None = None,
        ack_timeout: float = 300.0,
    ) -> None:
        self._backend = backend
        self._clock: Clock = backend.clock
        self._store = store
        self._state_dir = state_dir
        self._to_error = to_error
        self._on_status = on_status
        self._min_interval = min_interval
        self._max_interval = max_interval
        self._keep_acked = keep_acked
        self._after_ack = dict(after_ack or {})
        self._ack_timeout = ack_timeout
        self._ack_events: dict[str, asyncio.Event] = {}
        self._recovered_hooks: list[str] = []
        self._records: dict[str, TaskRecord] = {}
        self._active: str | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._started = asyncio.Event()

    # -- start-up ---------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Load persisted records; close the ones a restart cut short; queue every unacknowledged final."""
        for rec in self._store.load():
            if not rec.final:
                error = {"type": "interrupted", "msg": "the agent restarted while this task was running"}
                rec = rec.failed(error, self._clock.time())
                self._save(rec)
            self._records[rec.task_id] = rec
            if rec.final and not rec.acked:
                self._on_status(rec)
                if rec.state is TaskState.COMPLETE and rec.method in self._after_ack:
                    self._recovered_hooks.append(rec.task_id)

    async def run(self) -> None:
        """Own the running tasks until cancelled (the agent's TaskGroup owns this coroutine)."""
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
            for task_id in self._recovered_hooks:
                self._active = task_id
                tg.create_task(self._act_after_ack(task_id), name=f"after-ack:{task_id}")
            self._recovered_hooks.clear()
            self._started.set()
            try:
                await asyncio.Event().wait()
            finally:
                self._started.clear()
                self._tg = None

    async def wait_started(self) -> None:
        """Return once `run()` accepts tasks (at once if it already does)."""
        await self._started.wait()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TaskRunner]:
        """Run the runner for the body of the block; `start` works from the first line of the body.

        Leaving the block cancels the runner and waits for it, with every task it owns.
        """
        owner = asyncio.create_task(self.run(), name="task-runner")
        started = asyncio.create_task(self.wait_started())
        try:
            await asyncio.wait((owner, started), return_when=asyncio.FIRST_COMPLETED)
            if owner.done():
                owner.result()  # run() ended before it started: raise why
                raise RuntimeError("the task runner stopped before it started")
            yield self
        finally:
            started.cancel()
            owner.cancel()
            try:
                await owner
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # our caller is being cancelled too: pass that on

    # -- queries ----------------------------------------------------------------------------------------

    def get(self, task_id: str) -> TaskRecord | None:
        return self._records.get(task_id)

    def records(self) -> list[TaskRecord]:
        return sorted(self._records.values(), key=lambda r: r.started_at)

    def outstanding(self, *, brief: bool = False) -> list[JsonObject]:
        """Tasks the endpoint still has to hear the end of: unfinished, or final and unacknowledged."""
        pending = [r for r in self.records() if not (r.final and r.acked)]
        return [r.brief() if brief else r.summary() for r in pending]

    @property
    def active(self) -> str | None:
        return self._active

    # -- commands ---------------------------------------------------------------------------------------

    def start(self, spec: TaskSpec, params: Mapping[str, Any]) -> JsonObject:
        task_id = get_str(params, "task_id")
        if not task_id or len(task_id) > MAX_TASK_ID:
            raise InvalidParams("task_id", f"must be 1 to {MAX_TASK_ID} characters")
        existing = self._records.get(task_id)
        if existing is not None:
            if existing.method != spec.method:
                raise InvalidParams("task_id", f"already used by a {existing.method} task")
            return existing.summary()
        parsed = spec.validate(params)
        if spec.mutating and self._active is not None:
            raise Busy(f"task {self._active} is running", details={"task_id": self._active})
        if self._tg is None:
            raise Internal("the task runner is not running")
        rec = TaskRecord(task_id, spec.method, mutating=spec.mutating, started_at=self._clock.time())
        self._commit(rec)
        if spec.mutating:
            self._active = task_id
        self._tg.create_task(self._execute(spec, parsed, rec), name=f"task:{task_id}")
        return {"task_id": task_id, "state": str(rec.state)}

    def acknowledge(self, task_id: str, seq: int) -> None:
        """The endpoint answered the task_status with this seq; a final one need never be sent again."""
        rec = self._records.get(task_id)
        if rec is None or not rec.final or rec.acked or rec.seq != seq:
            return
        self._records[task_id] = rec.acknowledged()
        self._save(self._records[task_id])
        if task_id in self._ack_events:
            self._ack_events[task_id].set()
        self._prune()

    # -- internals --------------------------------------------------------------------------------------

    def _commit(self, rec: TaskRecord) -> None:
        self._records[rec.task_id] = rec
        self._save(rec)
        self._on_status(rec)

    def _save(self, rec: TaskRecord) -> None:
        try:
            self._store.save(rec)
        except OSError as exc:
            # A full or broken state dir must not kill the task or the agent; the endpoint still hears it.
            log.error("cannot persist task %s: %s", rec.task_id, exc)

    async def _execute(self, spec: TaskSpec, parsed: object, rec: TaskRecord) -> None:
        current_task_id.set(rec.task_id)
        reporter = ProgressReporter(
            self._clock,
            lambda update: self._update(rec.task_id, update),
            min_interval=self._min_interval,
            max_interval=self._max_interval,
        )
        ctx = TaskContext(
            task_id=rec.task_id,
            method=rec.method,
            backend=self._backend,
            progress=reporter.sink,
            log=logging.LoggerAdapter(task_log, {"task_id": rec.task_id}),
            state_dir=self._state_dir,
        )
        try:
            async with asyncio.TaskGroup() as tg:
                ticker = tg.create_task(reporter.run())
                try:
                    outcome = await self._outcome(spec, ctx, parsed)
                finally:
                    ticker.cancel()
            self._finish(rec.task_id, outcome)
            if outcome[0] and spec.method in self._after_ack:
                await self._act_after_ack(rec.task_id)
        finally:
            if self._active == rec.task_id:
                self._active = None

    async def _act_after_ack(self, task_id: str) -> None:
        rec = self._records[task_id]
        event = self._ack_events.setdefault(task_id, asyncio.Event())
        try:
            if not rec.acked:
                try:
                    async with asyncio.timeout(self._ack_timeout):
                        await event.wait()
                except TimeoutError:
                    log.warning(
                        "task %s: no acknowledgement in %.0f s; acting anyway", task_id, self._ack_timeout
                    )
            log.info("task %s acknowledged; acting on its result", task_id)
            await self._after_ack[rec.method](self._backend, rec.result or {})
        except Exception as exc:
            log.error("task %s: acting on its result failed: %s", task_id, exc, exc_info=True)
        finally:
            self._ack_events.pop(task_id, None)
            if self._active == task_id:
                self._active = None

    async def _outcome(self, spec: TaskSpec, ctx: TaskContext, parsed: object) -> tuple[bool, JsonObject]:
        """(True, result) or (False, error payload); cancellation passes through untouched."""
        try:
            result = await spec.run(ctx, parsed)
            if not isinstance(result, dict):
                raise TypeError(f"{spec.method} returned {type(result).__name__}, not a JSON object")
            size = len(json.dumps(result))
            if size > MAX_RESULT_BYTES:
                raise ResultTooLarge(
                    f"the result of {spec.method} is {size} bytes (limit {MAX_RESULT_BYTES})"
                )
        except Exception as exc:
            log.warning("task %s (%s) failed: %s", ctx.task_id, spec.method, exc, exc_info=True)
            return False, self._to_error(exc)
        return True, result

    def _finish(self, task_id: str, outcome: tuple[bool, JsonObject]) -> None:
        ok, payload = outcome
        rec = self._records[task_id]
        now = self._clock.time()
        self._commit(rec.completed(payload, now) if ok else rec.failed(payload, now))

    def _update(self, task_id: str, update: Update) -> None:
        rec = self._records.get(task_id)
        if rec is None or rec.final:
            return
        self._commit(rec.progressed(update.percent, update.eta))

    def _prune(self) -> None:
        done = [r for r in self._records.values() if r.final and r.acked]
        done.sort(key=lambda r: r.finished_at or 0.0)
        for rec in done[: max(0, len(done) - self._keep_acked)]:
            del self._records[rec.task_id]
            self._store.delete(rec.task_id)
