"""Progress for operations a drive runs by itself (ATA erase, NVMe format): elapsed time vs its estimate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from teeth_agent.backend.api import Clock, Progress

T = TypeVar("T")

TICK_SECONDS = 5.0
# While the drive works, progress stays below its own estimate: the estimate is no promise of completion.
_CEILING = 0.99


async def with_estimate(work: Awaitable[T], *, clock: Clock, estimate: float | None, progress: Progress) -> T:
    """Await `work`, telling `progress` (elapsed seconds, estimate) every few seconds; 0 total = unknown."""
    total = float(estimate or 0.0)
    start = clock.monotonic()

    async def tick() -> None:
        while True:
            await clock.sleep(TICK_SECONDS)
            elapsed = clock.monotonic() - start
            progress(min(elapsed, total * _CEILING) if total else elapsed, total)

    ticker = asyncio.create_task(tick())
    try:
        result = await work
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
    done = clock.monotonic() - start
    progress(total or done, total or done)
    return result
