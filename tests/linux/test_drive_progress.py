"""Progress of drive-run operations: elapsed time against the drive's estimate, on a fake clock."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from teeth_agent.backend.linux.drive_progress import with_estimate


@dataclass
class SteppingClock:
    """Each sleep advances time by its length; `at(t)` is an event set once time reaches t."""

    now: float = 0.0
    alarms: list[tuple[float, asyncio.Event]] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def at(self, when: float) -> asyncio.Event:
        event = asyncio.Event()
        self.alarms.append((when, event))
        return event

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        for when, event in self.alarms:
            if self.now >= when:
                event.set()
        await asyncio.sleep(0)


async def run(clock: SteppingClock, finish_at: float, estimate: float | None) -> list[tuple[float, float]]:
    ticks: list[tuple[float, float]] = []
    finished = clock.at(finish_at)
    await with_estimate(finished.wait(), clock=clock, estimate=estimate,
                        progress=lambda d, t: ticks.append((d, t)))
    return ticks


async def test_progress_stays_below_the_estimate_until_the_work_ends() -> None:
    ticks = await run(SteppingClock(), finish_at=200, estimate=60)  # slower than the drive said
    assert len(ticks) > 2 and all(t == 60 for _, t in ticks)
    assert max(d for d, _ in ticks[:-1]) <= 60 * 0.99 and ticks[-1] == (60, 60)


async def test_unknown_estimate_reports_elapsed_with_zero_total() -> None:
    ticks = await run(SteppingClock(), finish_at=20, estimate=None)
    assert [t for _, t in ticks[:-1]] == [0.0] * (len(ticks) - 1)
    assert ticks[-1][0] == ticks[-1][1] >= 20
