"""The simulator in the contract suite: the VM-like profile, a fast clock, its 8 GiB second disk."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock

NAME = "sim"


@contextlib.asynccontextmanager
async def provide() -> AsyncIterator[tuple[SimBackend, str]]:
    yield make_backend("vm", seed=1, clock=SimClock(speed=1e6)), "/dev/vdb"
