"""Between a running flow and the runner: turns progress callbacks into throttled `Update`s.

`sink` is the flow's Progress callback (TaskContext.progress); it may be called from a worker thread, and
hands the numbers to the loop. `run` sends held changes and keep-alive updates, sleeping until the
throttle has something due — no polling, which matters when a fast simulated clock runs a thousand tasks
in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from teeth_agent.backend.api import Clock
from teeth_agent.tasks.progress import ProgressThrottle, Update


class ProgressReporter:
    def __init__(
        self, clock: Clock, on_update: Callable[[Update], None], *, min_interval: float, max_interval: float
    ) -> None:
        self._clock = clock
        self._on_update = on_update
        self._throttle = ProgressThrottle(
            clock.monotonic(), min_interval=min_interval, max_interval=max_interval
        )
        self._held = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def sink(self, done: float, total: float) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._observe(done, total)
        else:
            self._loop.call_soon_threadsafe(self._observe, done, total)

    def _observe(self, done: float, total: float) -> None:
        update = self._throttle.observe(done, total, self._clock.monotonic())
        if update is not None:
            self._on_update(update)
        elif self._throttle.holding:
            self._held.set()  # wake run(): this change goes out once min_interval has passed

    async def run(self) -> None:
        while True:
            self._held.clear()
            delay = self._throttle.due_in(self._clock.monotonic())
            if self._throttle.holding:
                await self._clock.sleep(delay)
            else:
                await _sleep_unless(self._clock, delay, self._held)
            update = self._throttle.tick(self._clock.monotonic())
            if update is not None:
                self._on_update(update)


async def _sleep_unless(clock: Clock, delay: float, event: asyncio.Event) -> None:
    """Sleep `delay` clock seconds, or less if `event` is set first."""
    async with asyncio.TaskGroup() as tg:
        sleeper = tg.create_task(clock.sleep(delay))
        waiter = tg.create_task(event.wait())
        sleeper.add_done_callback(lambda _: waiter.cancel())
        waiter.add_done_callback(lambda _: sleeper.cancel())
