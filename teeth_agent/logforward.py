"""Forward the agent's own log records to the endpoint as `log` commands.

While disconnected, records wait in a bounded buffer; when it is full the oldest is dropped and counted,
and the first thing sent after reconnecting is a warning saying how many were lost. Records carry the
task_id of the task that logged them: an explicit `task_id` attribute (as TaskContext.log adds), else the
context variable the task runner sets (`teeth_agent.tasks.context.current_task_id`).

Records of the layers that carry these messages (connection, protocol, asyncio) are never forwarded: they
would feed themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from teeth_agent.tasks.context import current_task_id

JsonObject = dict[str, Any]
Send = Callable[[JsonObject], Coroutine[Any, Any, object]]

MAX_TEXT = 16 * 1024
DEFAULT_EXCLUDE = ("teeth_agent.connection", "teeth_agent.protocol", "teeth_agent.dial", "asyncio")
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def record_to_params(record: logging.LogRecord) -> JsonObject:
    """The params of a `log` command for one record."""
    params: JsonObject = {
        "level": record.levelname.lower(),
        "msg": _clip(record.getMessage()),
        "time": record.created,
        "logger": record.name,
    }
    task_id = getattr(record, "task_id", None) or current_task_id.get()
    if task_id:
        params["task_id"] = str(task_id)
    extra = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k != "task_id"}
    fields = {k: _json_safe(v) for k, v in extra.items()}
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        fields["exc"] = f"{type(exc).__name__}: {exc}"  # the message, never a traceback
    if fields:
        params["fields"] = fields
    return params


def _json_safe(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return _clip(value if isinstance(value, str) else str(value))


def _clip(text: str) -> str:
    # One record must never come near the protocol's line limit (1 MiB).
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"... [{len(text) - MAX_TEXT} more]"


class LogForwarder(logging.Handler):
    def __init__(
        self,
        *,
        capacity: int = 2000,
        level: int = logging.INFO,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        window: int = 32,
    ) -> None:
        super().__init__(level)
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._capacity = capacity
        # Records in flight at once: a backlog after a reconnect goes out at window/RTT, not 1/RTT.
        self._window = max(1, window)
        self._exclude = exclude
        self._buffer: deque[JsonObject] = deque()
        self._dropped = 0
        self._in_flight: set[int] = set()
        self._mutex = threading.Lock()  # emit() may run on any thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def dropped(self) -> int:
        return self._dropped

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self._exclude):
            return
        try:
            params = record_to_params(record)
        except Exception:
            self.handleError(record)
            return
        with self._mutex:
            if len(self._buffer) >= self._capacity:
                oldest = self._buffer.popleft()
                # A record already being sent is not lost (unless the link fails, which we cannot know yet).
                if id(oldest) not in self._in_flight:
                    self._dropped += 1
            self._buffer.append(params)
        self._notify()

    def _notify(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            wake.set()
        else:
            # A closing loop refuses the call; the record stays buffered.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def _take_dropped(self) -> int:
        with self._mutex:
            dropped, self._dropped = self._dropped, 0
        return dropped

    def _peek(self, count: int) -> list[JsonObject]:
        with self._mutex:
            batch = [self._buffer[i] for i in range(min(count, len(self._buffer)))]
            self._in_flight = {id(p) for p in batch}
            return batch

    def _pop(self, sent: list[JsonObject]) -> None:
        with self._mutex:
            self._in_flight = set()
            for params in sent:
                # A record may already have been dropped to make room while it was being sent.
                if self._buffer and self._buffer[0] is params:
                    self._buffer.popleft()

    async def pump(self, send: Send) -> None:
        """Send buffered records over one connection until it fails or this is cancelled."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        try:
            while True:
                self._wake.clear()
                dropped = self._take_dropped()
                if dropped:
                    try:
                        await send(dropped_notice(dropped))
                    except BaseException:
                        with self._mutex:
                            self._dropped += dropped
                        raise
                while batch := self._peek(self._window):
                    await _send_all(send, batch)
                    self._pop(batch)
                await self._wake.wait()
        finally:
            self._in_flight = set()
            self._loop = self._wake = None


async def _send_all(send: Send, batch: list[JsonObject]) -> None:
    """Send a batch concurrently, in order; if any send fails, the whole batch stays buffered (it may
    then arrive twice: logs are delivered at least once)."""
    try:
        async with asyncio.TaskGroup() as tg:
            for params in batch:
                tg.create_task(send(params))
    except BaseExceptionGroup as group:
        raise group.exceptions[0] from None  # e.g. ConnectionClosed: the link's normal end


def dropped_notice(count: int) -> JsonObject:
    msg = "%d log records were dropped while disconnected"
    record = logging.LogRecord(__name__, logging.WARNING, __file__, 0, msg, (count,), None)
    params = record_to_params(record)
    params["fields"] = {"dropped": count}
    return params
