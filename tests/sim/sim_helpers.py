"""Small helpers shared by the simulator's tests (a uniquely named module, imported directly)."""

from __future__ import annotations

from pathlib import Path

from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import Fault
from simulator.machine.profile import load_profile


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    def __call__(self, done: float, total: float) -> None:
        self.calls.append((done, total))


def fast(profile: str, *, faults: tuple[Fault, ...] = (), seed: int = 0) -> SimBackend:
    return make_backend(profile, seed=seed, clock=SimClock(speed=1e7), faults=faults)


def from_toml(tmp_path: Path, text: str, name: str = "custom") -> SimBackend:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return make_backend(load_profile(str(path)), clock=SimClock(speed=1e7))


MINIMAL = """
[dmi]
manufacturer = "Acme"
product = "Box"
[cpu]
model = "Acme CPU"
cores = 4
[memory]
mib = 8192
"""
