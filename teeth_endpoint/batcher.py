"""Group many small writes into few transactions, and keep trying while the database is away.

`submit(item)` returns a future settled once the item's batch committed. The flusher takes everything
queued (up to `max_batch`) at once, so under load a batch grows with the backlog and the per-write cost
falls; when idle a single item goes out at once. A batch that fails for being unreachable is retried with
backoff, forever: whoever awaits the future (an agent's acknowledgement) just waits. A batch that fails
for any other reason is split, so one bad item fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from teeth_endpoint.store.errors import StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[list[R]]]  # one result per item, in order


class Batcher(Generic[T, R]):
    def __init__(
        self, name: str, flush: Flush[T, R], *, max_batch: int = 2000, max_backoff: float = 5.0
    ) -> None:
        self.name = name
        self._flush = flush
        self._max_batch = max_batch
        self._max_backoff = max_backoff
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0
        self.unavailable = False  # the last attempt could not reach the database

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"batcher {self.name}")

    async def close(self) -> None:
        """Write what is queued (if the database is there), then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _, fut in self._queue:
            if not fut.done():
                fut.cancel()
        self._queue.clear()

    def submit(self, item: T) -> asyncio.Future[R]:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, fut))
        self._ready.set()
        return fut

    def __len__(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._write(batch)

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        backoff = 0.1
        while True:
            try:
                results = await self._flush([item for item, _ in batch])
            except StoreUnavailable as exc:
                if not self.unavailable:
                    log.warning("%s: %s; holding %d writes and retrying", self.name, exc, len(batch))
                self.unavailable = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            except Exception as exc:
                if len(batch) > 1:
                    mid = len(batch) // 2
                    await self._write(batch[:mid])
                    await self._write(batch[mid:])
                    return
                log.error("%s: write refused: %s", self.name, exc)
                _settle(batch, exc)
                return
            if self.unavailable:
                log.warning("%s: the database is back", self.name)
            self.unavailable = False
            self.batches += 1
            self.items += len(batch)
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)
            return


def _settle(batch: list[tuple[T, asyncio.Future[R]]], exc: Exception) -> None:
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)
