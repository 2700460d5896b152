"""Keep the cyclic garbage collector's full passes short when thousands of links stay open for days.

Each agent link holds a few dozen GC-tracked objects (tasks, futures, transport, session) for as long as
it lives. CPython's full collections walk every tracked object, so at 10,000 links each one stalls the
event loop for hundreds of milliseconds — straight into the ping latency of every agent.

The policy: once `freeze_every` links have opened since the last freeze, `gc.freeze()` moves everything
that exists into the permanent generation, so later passes only walk what is new. Links that close leave
their cycles frozen (not collected); once `sweep_after` links, and at least a quarter of those still
open, have closed since the last sweep, one unfreeze + full collect + refreeze reclaims them — a single
pause, as rare relative to the fleet's size as CPython's own rule for full collections.

It acts on process-wide state, so only the process owner opts in (`teeth-endpoint serve`, the bench);
an `Endpoint` built without a policy leaves the collector alone.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


class GcPolicy:
    def __init__(self, *, freeze_every: int = 256, sweep_after: int = 2048) -> None:
        if freeze_every < 1 or sweep_after < 1:
            raise ValueError("freeze_every and sweep_after must be positive")
        self.freeze_every = freeze_every
        self.sweep_after = sweep_after
        self._opened = 0
        self._closed = 0
        self._live = 0
        self.freezes = 0
        self.sweeps = 0

    def link_opened(self) -> None:
        self._live += 1
        self._opened += 1
        if self._opened >= self.freeze_every:
            self._opened = 0
            gc.collect(1)  # young garbage need not be frozen
            gc.freeze()
            self.freezes += 1

    def link_closed(self) -> None:
        self._live -= 1
        self._closed += 1
        if self._closed >= max(self.sweep_after, self._live // 4):
            self._closed = 0
            started = time.monotonic()
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.sweeps += 1
            log.info("gc sweep took %.0f ms (%d links open)", (time.monotonic() - started) * 1000, self._live)
