"""Overall progress across disks erased in parallel.

Each disk weighs its up-front estimate in seconds (the drive's own ATA estimate, or size over a nominal
rate); within a disk, phases (erase, verify) split that weight. Per-disk fractions only move forward, so the
overall figure never goes backwards. The sink receives (done, total) in estimated seconds; the runner turns
that into percent and an ETA from the measured rate.
"""

from __future__ import annotations

from collections.abc import Mapping

from teeth_agent.backend.api import Progress


class OverallProgress:
    def __init__(self, sink: Progress, weights: Mapping[str, float]) -> None:
        self._sink = sink
        self._weights = {path: max(w, 1.0) for path, w in weights.items()}
        self._total = sum(self._weights.values())
        self._fraction = dict.fromkeys(self._weights, 0.0)

    def phase(self, path: str, start: float, end: float) -> Progress:
        """A Progress sink for one phase of one disk, mapped onto [start, end] of that disk's share."""

        def report(done: float, total: float) -> None:
            part = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
            self.set(path, start + (end - start) * part)

        return report

    def set(self, path: str, fraction: float) -> None:
        if fraction <= self._fraction[path]:
            return
        self._fraction[path] = min(fraction, 1.0)
        self.report()

    def finish(self, path: str) -> None:
        """A disk is done (erased or failed): its whole share counts as done."""
        self.set(path, 1.0)

    def report(self) -> None:
        if self._total:
            done = sum(self._weights[p] * f for p, f in self._fraction.items())
            self._sink(done, self._total)
