"""Between a running flow and the runner: turns progress callbacks into throttled `Update`s.

`sink` is the flow's Progress callback (TaskContext.progress); it may be called from a worker thread, and
hands the numbers to the loop. `run` sends held changes and keep-alive updates, sleeping until the
throttle has something due — no polling.

Sends are paced on the event loop's time, never on the backend's clock: the throttle ("at most every
second, at least every 10 s") protects the link and the endpoint, whose seconds are real ones. On a
simulated machine whose clock runs thousands of times faster, pacing on that clock would wake the ticker
thousands of times a second per task. The backend's clock only measures the rate, so the ETA is in the
hardware's seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from teeth_agent.backend.api import Clock
from teeth_agent.tasks.progress import ProgressThrottle, Update


class ProgressReporter:
    def __init__(
        self, clock: Clock, on_update: Callable[[Update], None], *, min_interval: float, max_interval: float
    ) -> None:
        self._clock = clock
        self._on_update = on_update
        self._loop = asyncio.get_running_loop()
        self._throttle = ProgressThrottle(
            self._loop.time(),
            hw_start=clock.monotonic(),
            min_interval=min_interval,
            max_interval=max_interval,
        )
        self._held = asyncio.Event()

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
        update = self._throttle.observe(done, total, self._loop.time(), self._clock.monotonic())
        if update is not None:
            self._on_update(update)
        elif self._throttle.holding:
            self._held.set()  # wake run(): this change goes out once min_interval has passed

    async def run(self) -> None:
        while True:
            self._held.clear()
            delay = self._throttle.due_in(self._loop.time())
            if self._throttle.holding:
                await asyncio.sleep(delay)
            else:
                # Until the keep-alive is due, or a held change wakes us to wait for min_interval instead.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._held.wait()
            update = self._throttle.tick(self._loop.time(), self._clock.monotonic())
            if update is not None:
                self._on_update(update)
