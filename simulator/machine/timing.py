"""Simulated durations: sleep through an operation in steps, reporting progress after each.

Steps are sized in wall time (about 2 per wall second, at most 100 per operation) so a fleet of thousands
of disks on one event loop wakes rarely, while percent and ETA stay smooth in simulated seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from teeth_agent.backend.api import Clock, Progress

MIN_STEP_WALL = 0.5
MAX_STEPS = 100

# Simulated seconds of whole-device operations, from the device's size and throughput.
DISCARD_BYTES_PER_S = 50e9
WRITE_ZEROES_SPEEDUP = 4.0


def overwrite_seconds(size: int, throughput_mbps: float) -> float:
    return size / (throughput_mbps * 1e6)


def write_zeroes_seconds(size: int, throughput_mbps: float) -> float:
    return size / (throughput_mbps * 1e6 * WRITE_ZEROES_SPEEDUP)


def discard_seconds(size: int) -> float:
    return 1.0 + size / DISCARD_BYTES_PER_S


def _steps(clock: Clock, seconds: float) -> int:
    speed = float(getattr(clock, "speed", 1.0))
    wall = seconds / speed
    return max(1, min(MAX_STEPS, math.ceil(wall / MIN_STEP_WALL)))


async def run_timed(
    clock: Clock,
    seconds: float,
    progress: Progress,
    *,
    total: float | None = None,
    on_step: Callable[[float], None] | None = None,
) -> None:
    """Take `seconds` of simulated time; report progress in units of `total` (default: seconds).

    `on_step(fraction)` runs before each progress report, so the model can change state as it goes
    (an overwrite zeroes the disk front to back; a sanitize updates its log). Cancellation propagates
    from the sleep, leaving the model at its last step.
    """
    unit_total = seconds if total is None else total
    progress(0.0, unit_total)
    steps = _steps(clock, seconds)
    for i in range(1, steps + 1):
        await clock.sleep(seconds / steps)
        fraction = i / steps
        if on_step is not None:
            on_step(fraction)
        progress(unit_total * fraction, unit_total)
