"""A clock the test drives: time moves only when someone sleeps on it or calls `advance`."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ManualClock:
    """Implements `teeth_agent.backend.api.Clock` with virtual time.

    By default `sleep(s)` moves time forward by `s` at once and yields to the event loop once, so a
    six-hour erase takes no wall time and its ETA is still measured in the hardware's seconds. With
    `auto_advance=False` a sleeper waits until the test calls `advance()` past its deadline, which lets a
    test hold an operation at a chosen moment.
    """

    def __init__(
        self, start: float = 0.0, *, epoch: float = 1_800_000_000.0, auto_advance: bool = True
    ) -> None:
        self._now = start
        self._epoch = epoch
        self._auto = auto_advance
        self._order = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._new_sleeper = asyncio.Event()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._epoch + self._now

    @property
    def sleepers(self) -> int:
        """How many sleeps wait for `advance` (always 0 with auto_advance)."""
        return sum(1 for _, _, fut in self._sleepers if not fut.done())

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once `count` sleeps wait for `advance`: the handshake before a test moves time."""
        while self.sleepers < count:
            self._new_sleeper.clear()
            await self._new_sleeper.wait()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds!r} s)")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self._auto:
            self.advance(seconds)
            await asyncio.sleep(0)  # a real sleep lets other tasks run; so does this one
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), fut))
        self._new_sleeper.set()
        if seconds == 0:
            self.advance(0)
        await fut
