"""The fleet runner: many simulated machines, each running a real agent, driven through a scenario.

Every machine is a `SimBackend` on one shared `SimClock` and event loop. Its agent is started by an
`AgentFactory` (the real `teeth_agent.agent` wiring, see fleet_real.py) and dials the endpoint over real
127.0.0.1 TCP — through a `LinkProxy` when the machine has a drop_connection fault or the run is recorded.
The driver asks the endpoint to run each scenario step as a task and records outcome and durations.

Boots are followed through the machine's listeners: a kexec or reboot into the tenant ends that machine's
agent (the ramdisk is gone); a reboot back into the ramdisk (PXE) starts a fresh agent with a new boot id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from simulator.fleet.image_server import ImageServer
from simulator.fleet.link_proxy import LinkProxy
from simulator.fleet.report import MachineRecord, StepOutcome, summarize_result, verdict
from simulator.fleet.resources import (
    ImageBlob,
    configdrive,
    fill_placeholders,
    firmware_param,
    image_param,
    publish_image,
    qc_spec,
)
from simulator.fleet.scenario import Scenario, Step
from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import HARDWARE_KINDS
from simulator.machine.machine import RunningOs, SimMachine
from simulator.machine.profile import load_profile

JsonObject = dict[str, Any]
StatusSink = Callable[[JsonObject], None]
# (machine client name, direction "agent"|"endpoint", raw line) for every relayed protocol line.
FleetRecorder = Callable[[str, str, bytes], None]


@dataclass(frozen=True)
class JoinedAgent:
    methods: frozenset[str]
    boot_id: str


class FleetEndpoint(Protocol):
    """What the runner needs of the endpoint (an adapter over `teeth_endpoint`)."""

    async def wait_for_agent(self, agent_id: str, *, within: float) -> JoinedAgent: ...

    async def run_task(self, agent_id: str, method: str, params: JsonObject, *, within: float,
                       on_status: StatusSink) -> JsonObject:
        """Start a task and return its final status (`state` = complete/error, `result` or `error`)."""
        ...


# (backend, agent_id, endpoint url, state dir) -> runs the agent until cancelled.
AgentFactory = Callable[[SimBackend, str, str, Path], Coroutine[Any, Any, None]]


def _canonical(method: str) -> str:
    return "standbye." + method[len("standby.") :] if method.startswith("standby.") else method


class MachineHost:
    """One machine: its backend, its agent's lifetime across boots, and its record."""

    def __init__(self, fleet: SimFleet, index: int) -> None:
        sc = fleet.scenario
        self.fleet = fleet
        self.index = index
        self.profile = sc.profile_of(index)
        faults = sc.faults_of(index)
        serial = f"SIM{sc.seed:03d}{index:05d}"
        hardware = tuple(f for f in faults if f.kind in HARDWARE_KINDS)
        self.seed = sc.seed * 1_000_003 + index
        self.hardware_faults = hardware
        self.backend = make_backend(fleet.profiles[self.profile], seed=self.seed, clock=fleet.clock,
                                    serial=serial, faults=hardware)
        self.agent_id = f"sim-{index:05d}-{serial}"
        self.client = f"m{index:05d}"
        described = [f.describe() for f in faults]
        self.record = MachineRecord(index, self.agent_id, self.profile, serial, described)
        self.drop_at = next((f.at for f in faults if f.kind == "drop_connection"), 0)
        for f in faults:
            if f.kind == "slow_download":
                fleet.images.set_faults(self.client, slow_rate=f.rate)
            if f.kind == "truncated_download":
                fleet.images.set_faults(self.client, truncate_at=f.at)
        self.booted = asyncio.Event()
        self.machine.listeners.append(self._on_boot)

    @property
    def machine(self) -> SimMachine:
        return self.backend.machine

    def _on_boot(self, machine: SimMachine, running: RunningOs) -> None:
        self.record.running_os = running.kind if running.kind != "tenant" else f"tenant via {running.via}"
        self.booted.set()

    async def run_agents(self, endpoint_url: str) -> None:
        """Keep an agent running while the machine runs the ramdisk; a new one after each ramdisk boot."""
        while self.machine.running.kind == "ramdisk":
            self.booted.clear()
            self.record.boot_ids.append(self.machine.boot_id)
            state_dir = self.fleet.workdir / self.client
            state_dir.mkdir(parents=True, exist_ok=True)
            agent = asyncio.create_task(self.fleet.agent_factory(self.backend, self.agent_id, endpoint_url,
                                                                 state_dir))
            booted = asyncio.create_task(self.booted.wait())
            await asyncio.wait({agent, booted}, return_when=asyncio.FIRST_COMPLETED)
            for task in (agent, booted):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if not self.booted.is_set():
                return  # the agent ended by itself (it should not); do not spin

    def meta(self) -> JsonObject:
        """What a replay needs to rebuild this machine and its image server (recorded as a "meta" line)."""
        sc = self.fleet.scenario
        return {"profile": self.profile, "seed": self.seed, "serial": self.record.serial,
                "agent_id": self.agent_id, "faults": [asdict(f) for f in self.hardware_faults],
                "image": {"size": sc.image_size, "compression": sc.image_compression},
                "image_server": f"http://127.0.0.1:{self.fleet.images.port}/", "speed": sc.speed}

    def params_for(self, step: Step) -> JsonObject:
        fleet = self.fleet
        values: dict[str, Any] = {
            "@image": image_param(fleet.images, self.client, fleet.image),
            "@image_id": fleet.image.id,
            "@configdrive": configdrive(self.index, self.record.serial),
            "@qc_spec": qc_spec(self.machine.profile),
            "@firmware": firmware_param(fleet.images, self.client, self.machine.profile)["firmware"],
        }
        params = fill_placeholders(step.params, values)
        assert isinstance(params, dict)
        params["task_id"] = f"{self.client}-{step.method}-{uuid.uuid4().hex[:8]}"
        return params

    async def drive(self) -> None:
        rec = self.record
        clock = self.fleet.clock
        sim0, wall0 = clock.monotonic(), time.monotonic()
        try:
            within = self.fleet.scenario.step_timeout
            info = await self.fleet.endpoint.wait_for_agent(self.agent_id, within=within)
            rec.state = "running"
            for step in self.fleet.scenario.steps:
                if self.machine.running.kind != "ramdisk":
                    break
                if _canonical(step.method) not in {_canonical(m) for m in info.methods}:
                    rec.steps.append(StepOutcome(step.method, "", "not_advertised"))
                    if step.required:
                        rec.state = "failed"
                        return
                    continue
                async with self.fleet.step_slot(step):
                    outcome = await self._run_step(step)
                rec.steps.append(outcome)
                self.fleet.changed()
                if outcome.outcome != "complete":
                    rec.state = "failed"
                    return
                if step.method.endswith("run_image"):
                    await self._await_boot()
            rec.state = "done"
        except TimeoutError:
            rec.state = "failed"
            rec.current = "timed out waiting for the agent"
        finally:
            rec.percent = None
            rec.sim_seconds = clock.monotonic() - sim0
            rec.wall_seconds = time.monotonic() - wall0
            self.fleet.changed()

    async def _run_step(self, step: Step) -> StepOutcome:
        rec = self.record
        params = self.params_for(step)
        rec.current, rec.percent = step.method, 0.0
        self.fleet.changed()
        sim0, wall0 = self.fleet.clock.monotonic(), time.monotonic()

        def on_status(status: JsonObject) -> None:
            if isinstance(status.get("percent"), int | float):
                rec.percent = float(status["percent"])
                self.fleet.changed()

        try:
            final = await self.fleet.endpoint.run_task(self.agent_id, step.method, params,
                                                        within=self.fleet.scenario.step_timeout,
                                                        on_status=on_status)
        except TimeoutError:
            final = {"state": "timeout", "error": {"type": "timeout", "msg": "no final status in time"}}
        except Exception as exc:  # an endpoint-side failure (e.g. the command was refused) is an outcome
            final = {"state": "error", "error": {"type": type(exc).__name__, "msg": str(exc)}}
        state = str(final.get("state", "error"))
        result = final.get("result") if isinstance(final.get("result"), dict) else {}
        error = final.get("error") if state != "complete" else None
        if state == "error" and error is None:
            error = {"msg": final.get("msg")}
        summary = summarize_result(step.method, result or {})
        return StepOutcome(step.method, params["task_id"], verdict(step.method, state, summary),
                           self.fleet.clock.monotonic() - sim0, time.monotonic() - wall0, error, summary)

    async def _await_boot(self) -> None:
        """After run_image the agent kexecs or reboots once the endpoint acked: wait to see it happen."""
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            async with asyncio.timeout(self.fleet.scenario.step_timeout):
                while self.machine.running.kind == "ramdisk":
                    self.booted.clear()
                    await self.booted.wait()


class SimFleet:
    def __init__(self, scenario: Scenario, *, endpoint: FleetEndpoint, endpoint_port: int,
                 agent_factory: AgentFactory, workdir: Path, on_change: Callable[[], None] | None = None,
                 record: FleetRecorder | None = None) -> None:
        self.scenario = scenario
        self.endpoint = endpoint
        self.endpoint_port = endpoint_port
        self.agent_factory = agent_factory
        self.workdir = workdir
        self.clock = SimClock(scenario.speed)
        self.profiles = {name: load_profile(name) for name in set(scenario.profiles)}  # parsed once
        self.images = ImageServer()
        self._on_change = on_change
        self._record = record
        self.hosts: list[MachineHost] = []
        self._slots = {s.method: asyncio.Semaphore(s.concurrency) for s in scenario.steps if s.concurrency}
        self.image: ImageBlob

    def _recorder_for(self, client: str) -> Callable[[str, bytes], None] | None:
        record = self._record
        if record is None:
            return None
        return lambda direction, line: record(client, direction, line)

    def step_slot(self, step: Step) -> contextlib.AbstractAsyncContextManager[object]:
        slot = self._slots.get(step.method)
        return slot if slot is not None else contextlib.nullcontext()

    def changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    @property
    def records(self) -> list[MachineRecord]:
        return [h.record for h in self.hosts]

    async def run(self) -> list[MachineRecord]:
        sc = self.scenario
        await self.images.start()
        self.image = publish_image(self.images, sc.image_size, sc.image_compression)
        self.hosts = [MachineHost(self, i) for i in range(sc.machines)]
        if self._record is not None:
            for host in self.hosts:
                self._record(host.client, "meta", json.dumps(host.meta()).encode())
        proxies: list[LinkProxy] = []
        try:
            async with asyncio.TaskGroup() as tg:
                agents = []
                for host in self.hosts:
                    port = self.endpoint_port
                    if host.drop_at or self._record is not None:
                        proxy = LinkProxy("127.0.0.1", port, drop_at_message=host.drop_at,
                                          record=self._recorder_for(host.client))
                        await proxy.start()
                        proxies.append(proxy)
                        port = proxy.port
                    agents.append(tg.create_task(host.run_agents(f"tcp://127.0.0.1:{port}")))
                with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                    async with asyncio.timeout(sc.timeout):
                        await asyncio.gather(*(h.drive() for h in self.hosts))
                for task in agents:
                    task.cancel()
        finally:
            for proxy in proxies:
                await proxy.close()
            await self.images.close()
        return self.records
