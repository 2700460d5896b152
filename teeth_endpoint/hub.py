"""Fan-out of what happens on the endpoint to whoever waits for it: agents arriving, task updates, logs.

Every subscription is bounded: a slow log reader loses the oldest records (and is told how many), never
the endpoint's memory. Task watchers see every new status of one task, in order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from teeth_endpoint.fleet import AgentView, TaskView
from teeth_endpoint.wire import LogRecord

T = TypeVar("T")


class Feed(Generic[T]):
    """A bounded queue for one subscriber; when full, the oldest item goes and `dropped` counts it."""

    def __init__(self, size: int) -> None:
        self._items: deque[T] = deque(maxlen=size)
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    async def get(self) -> T:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


class Hub:
    def __init__(self, *, log_backlog: int = 1000, feed_size: int = 10_000) -> None:
        self._agents_changed = asyncio.Event()  # replaced by a fresh one on every change
        self._agent_feeds: dict[str, set[Feed[AgentView]]] = {}
        self._task_feeds: dict[str, set[Feed[TaskView]]] = {}
        self._log_feeds: set[Feed[LogRecord]] = set()
        self._backlog: deque[LogRecord] = deque(maxlen=log_backlog)
        self._feed_size = feed_size

    # -- agents ----------------------------------------------------------------------------------------

    def agent_changed(self, info: AgentView) -> None:
        """An agent connected or disconnected: wake waiters, and tell its watchers exactly what happened."""
        changed, self._agents_changed = self._agents_changed, asyncio.Event()
        changed.set()
        for feed in self._agent_feeds.get(info.agent_id, ()):
            feed.put(info)

    @contextmanager
    def watch_agent(self, agent_id: str) -> Iterator[Feed[AgentView]]:
        """Every connect and disconnect of one agent, in order (a quick reconnect is two events)."""
        with _subscribed(self._agent_feeds, agent_id, Feed(self._feed_size)) as feed:
            yield feed

    async def wait_agents_changed(self) -> None:
        """Return at the next change of the agent set (a handshake or a disconnect)."""
        await self._agents_changed.wait()

    # -- tasks -----------------------------------------------------------------------------------------

    def publish_task(self, view: TaskView) -> None:
        for feed in self._task_feeds.get(view.task_id, ()):
            feed.put(view)

    @contextmanager
    def watch_task(self, task_id: str) -> Iterator[Feed[TaskView]]:
        with _subscribed(self._task_feeds, task_id, Feed(self._feed_size)) as feed:
            yield feed

    # -- logs ------------------------------------------------------------------------------------------

    def publish_log(self, record: LogRecord) -> None:
        self._backlog.append(record)
        for feed in self._log_feeds:
            feed.put(record)

    def recent_logs(self, count: int) -> list[LogRecord]:
        return list(self._backlog)[-count:] if count > 0 else []

    async def logs(self, backlog: int = 0) -> AsyncIterator[LogRecord]:
        """Up to `backlog` recent records, then live ones, until the consumer stops iterating."""
        feed: Feed[LogRecord] = Feed(self._feed_size)
        for record in self.recent_logs(backlog):
            feed.put(record)
        self._log_feeds.add(feed)
        try:
            while True:
                yield await feed.get()
        finally:
            self._log_feeds.discard(feed)


@contextmanager
def _subscribed(feeds: dict[str, set[Feed[T]]], key: str, feed: Feed[T]) -> Iterator[Feed[T]]:
    feeds.setdefault(key, set()).add(feed)
    try:
        yield feed
    finally:
        mine = feeds[key]
        mine.discard(feed)
        if not mine:
            del feeds[key]
