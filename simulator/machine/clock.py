"""A simulated clock: hardware time that runs `speed` times faster than the wall.

Every simulated machine in a fleet can share one `SimClock` (and one event loop): sleeping `s` simulated
seconds is `asyncio.sleep(s / speed)` of wall time, so a 6-hour erase at speed 1000 passes in ~22 s while
its percent and ETA stay realistic in simulated seconds.
"""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """Implements `teeth_agent.backend.api.Clock`.

    `monotonic()` and `time()` both advance at `speed` x wall rate from the moment the clock is created;
    `time()` starts at `epoch` (default: the wall clock's now) so certificates carry plausible timestamps.
    """

    def __init__(self, speed: float = 1.0, *, epoch: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0, got {speed!r}")
        self._speed = float(speed)
        self._wall0 = time.monotonic()
        self._epoch0 = time.time() if epoch is None else epoch

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        """Simulated seconds since the clock was created."""
        return (time.monotonic() - self._wall0) * self._speed

    def monotonic(self) -> float:
        return self.elapsed()

    def time(self) -> float:
        return self._epoch0 + self.elapsed()

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of simulated time, exactly (`seconds / speed` of wall time).

        Only the hardware's own durations should sleep on this clock: anything paced for the wire or for
        people (the agent's progress updates, keep-alives) uses the event loop's time, or it would wake
        `speed` times as often as it means to.
        """
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    def wall_seconds(self, sim_seconds: float) -> float:
        """How long `sim_seconds` of simulated time take on the wall."""
        return sim_seconds / self._speed
