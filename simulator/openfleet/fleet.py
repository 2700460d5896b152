"""`teeth-sim fleet`: N simulated machines, each a real agent, against any endpoint, until stopped.

    fleet = OpenFleet(FleetPlan(...))
    await fleet.run(stop)        # returns once `stop` is set; every agent is cancelled, links closed

One process holds `plan.indices` of the fleet on one event loop and one simulated clock; `shards.py` splits
a large fleet over processes. Identities derive from (seed, index), so a machine keeps its agent id, serial
and state directory across fleet restarts: a developer's endpoint sees the same servers come back.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.machine.backend import make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import HARDWARE_KINDS, Fault
from simulator.machine.profile import MachineProfile, load_profile
from simulator.openfleet.downloads import DownloadFaults, DownloadRelay
from simulator.openfleet.machine_host import Identity, MachineHost
from teeth_agent.dial import parse_endpoint


@dataclass(frozen=True)
class Credential:
    agent_id: str | None = None  # None: the simulator's own id for that machine
    token: str | None = None


@dataclass(frozen=True)
class FleetPlan:
    endpoints: tuple[str, ...]
    machines: int
    profiles: tuple[str, ...] = ("vm",)
    seed: int = 0
    speed: float = 1000.0
    state_dir: Path | None = None  # None: task records in memory, scratch space in `scratch`
    scratch: Path = Path("/tmp")
    shared_token: str | None = None
    credentials: tuple[Credential, ...] = ()  # per machine index (from --tokens-file)
    faults: dict[int, tuple[Fault, ...]] = field(default_factory=dict)  # at power-on, per index
    indices: range | None = None  # this process's machines (default: all)

    def profile_of(self, index: int) -> str:
        return self.profiles[index % len(self.profiles)]

    def identity(self, index: int) -> tuple[str, str]:
        """(serial, agent id) of machine `index`."""
        serial = f"SIM{self.seed:03d}{index:05d}"
        cred = self.credentials[index] if index < len(self.credentials) else Credential()
        return serial, cred.agent_id or f"sim-{index:05d}-{serial}"

    def token_of(self, index: int) -> str | None:
        cred = self.credentials[index] if index < len(self.credentials) else Credential()
        return cred.token if cred.token is not None else self.shared_token


class OpenFleet:
    def __init__(self, plan: FleetPlan) -> None:
        self.plan = plan
        self.clock = SimClock(plan.speed)
        self.relay = DownloadRelay(self._download_faults)
        self.hosts: dict[str, MachineHost] = {}
        self._profiles: dict[str, MachineProfile] = {}

    def _download_faults(self, index: int) -> DownloadFaults:
        host = self.hosts.get(f"m{index:05d}")
        return host.downloads if host is not None else DownloadFaults()

    def _host(self, index: int) -> MachineHost:
        plan = self.plan
        name = plan.profile_of(index)
        profile = self._profiles.get(name) or self._profiles.setdefault(name, load_profile(name))
        serial, agent_id = plan.identity(index)
        hardware = tuple(f for f in plan.faults.get(index, ()) if f.kind in HARDWARE_KINDS)
        backend = make_backend(profile, seed=plan.seed * 1_000_003 + index, clock=self.clock, serial=serial,
                               faults=hardware)
        base = plan.state_dir if plan.state_dir is not None else plan.scratch
        ident = Identity(index, agent_id, name, plan.token_of(index), base / f"m{index:05d}",
                         persist=plan.state_dir is not None)
        host = MachineHost(ident, backend, tuple(parse_endpoint(u) for u in plan.endpoints),
                           self.relay.rewriter)
        for f in plan.faults.get(index, ()):
            if f.kind == "slow_download":
                host.downloads.slow_rate = f.rate
            if f.kind == "truncated_download":
                host.downloads.truncate_at = f.at
        return host

    async def run(self, stop: asyncio.Event) -> None:
        indices = self.plan.indices if self.plan.indices is not None else range(self.plan.machines)
        await self.relay.start()
        try:
            for i in indices:
                host = self._host(i)
                self.hosts[host.name] = host
            tasks = [asyncio.create_task(h.run(), name=h.name) for h in self.hosts.values()]
            await stop.wait()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            for h in self.hosts.values():
                with contextlib.suppress(ValueError):
                    h.drop_link()
        finally:
            await self.relay.close()

    def find(self, name: str) -> MachineHost | None:
        """By machine name (m00003), index (3) or agent id."""
        if name.isdigit():
            name = f"m{int(name):05d}"
        host = self.hosts.get(name)
        if host is None:
            host = next((h for h in self.hosts.values() if h.ident.agent_id == name), None)
        return host

    def snapshot(self) -> list[dict[str, Any]]:
        return [h.snapshot() for h in self.hosts.values()]
