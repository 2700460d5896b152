"""Task statuses waiting to be delivered, and the per-connection pump that delivers them.

Only the newest status of each task waits: a `running` update superseded before it went out is never sent.
A status leaves the outbox when the endpoint answers its `task_status`; until then it stays, across
reconnects, and is sent again on the next connection with the same seq (so the endpoint can drop the
duplicate). An answered final status is acknowledged to the runner, which then stops re-sending it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from teeth_agent.tasks.records import JsonObject, TaskRecord

log = logging.getLogger(__name__)

# Sends one task_status; returns True when answered with success, False when answered with an error
# (the endpoint will not take it: re-sending would not help). Raises when there was no answer.
SendStatus = Callable[[JsonObject], Awaitable[bool]]
OnDelivered = Callable[[TaskRecord], None]


class StatusOutbox:
    def __init__(self) -> None:
        self._pending: dict[str, TaskRecord] = {}
        self._wake = asyncio.Event()

    def put(self, record: TaskRecord) -> None:
        current = self._pending.get(record.task_id)
        if current is None or record.seq >= current.seq:
            self._pending[record.task_id] = record
            self._wake.set()

    def pending(self) -> list[TaskRecord]:
        return sorted(self._pending.values(), key=lambda r: (r.started_at, r.task_id))

    async def pump(self, send: SendStatus, on_delivered: OnDelivered, *, retry_after: float = 5.0) -> None:
        """Deliver statuses over one connection until it fails or this is cancelled."""
        while True:
            self._wake.clear()
            for record in self.pending():
                try:
                    accepted = await send(record.status_params())
                except TimeoutError:
                    # No answer in time but the connection lives: keep it and try again shortly.
                    log.warning("task_status %s seq %d unanswered; will retry", record.task_id, record.seq)
                    self._wake.set()
                    await asyncio.sleep(retry_after)
                    break
                if not accepted:
                    log.warning("endpoint refused task_status %s seq %d", record.task_id, record.seq)
                if self._pending.get(record.task_id) is record:
                    del self._pending[record.task_id]
                if record.final:
                    on_delivered(record)
            await self._wake.wait()
