"""Fleet scenarios: TOML files a developer writes (see simulator/fleet/scenarios/demo.toml).

    [fleet]    machines, profiles (assigned round-robin), speed (simulated clock x wall), seed,
               timeout (wall seconds for the whole run), step_timeout (wall seconds per task)
    [image]    size of the simulated tenant image served to the fleet, compression ("gzip" | "none")
    [[steps]]  method, concurrency (at most this many machines in the step at once; 0 = no limit),
               params (a table; strings "@image", "@image_id", "@configdrive", "@qc_spec",
               "@firmware" are replaced per machine), required (fail the machine if the agent does not
               advertise the method; default false: the step is recorded as "not advertised" and skipped)
    [[faults]] a fault (see simulator.machine.faults) plus who gets it: `machines = [0, 3]` (indices) or
               `count = N` (picked with the seed), optionally only among machines of `profile = "..."`

Malformed files raise SpecError naming the file, the field and what was expected, before anything starts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.machine.faults import Fault, parse_fault
from simulator.machine.profile import load_profile, profile_names
from simulator.machine.tomlread import Reader, SpecError, load_toml

SCENARIO_DIR = Path(__file__).parent / "scenarios"
PLACEHOLDERS = ("@image", "@image_id", "@configdrive", "@qc_spec", "@firmware")


@dataclass(frozen=True)
class Step:
    method: str
    params: dict[str, Any]
    required: bool = False
    # At most this many machines run the step at once (0: no limit), as a conductor paces deployments.
    concurrency: int = 0


@dataclass(frozen=True)
class FaultRule:
    fault: Fault
    machines: tuple[int, ...]


@dataclass(frozen=True)
class Scenario:
    file: str
    description: str
    machines: int
    profiles: tuple[str, ...]
    speed: float
    seed: int
    timeout: float
    step_timeout: float
    image_size: int
    image_compression: str
    steps: tuple[Step, ...]
    faults: tuple[FaultRule, ...]

    def profile_of(self, index: int) -> str:
        return self.profiles[index % len(self.profiles)]

    def faults_of(self, index: int) -> tuple[Fault, ...]:
        return tuple(rule.fault for rule in self.faults if index in rule.machines)


def default_scenario_path() -> Path:
    return SCENARIO_DIR / "demo.toml"


def load_scenario(path: Path | None = None, *, machines: int | None = None, profile: str | None = None,
                  seed: int | None = None) -> Scenario:
    """Parse a scenario; command-line overrides (machines, profile, seed) win over the file."""
    path = path or default_scenario_path()
    r = load_toml(path)
    r.check_keys({"description", "fleet", "image", "steps", "faults"})
    fleet = r.table("fleet")
    fleet.check_keys({"machines", "profiles", "speed", "seed", "timeout", "step_timeout"})
    count = machines if machines is not None else fleet.integer("machines", 8, minimum=1)
    if count < 1:
        raise SpecError("--machines", "(option)", "an integer >= 1", count)
    profiles = (profile,) if profile else fleet.str_list("profiles", ("vm",))
    for name in profiles:
        load_profile(name)  # a bad name or a malformed profile fails here, before anything starts
    if not profiles:
        fleet.fail("profiles", "a non-empty list of profile names (" + ", ".join(profile_names()) + ")")
    the_seed = seed if seed is not None else fleet.integer("seed", 0)
    image = r.table("image")
    image.check_keys({"size", "compression"})
    size = image.size("size", 16 << 20)
    if size < 1 << 20 or size % (1 << 20):
        image.fail("size", "a whole number of MiB, at least 1MiB", size)
    return Scenario(
        file=str(path), description=r.text("description", ""), machines=count, profiles=tuple(profiles),
        speed=fleet.number("speed", 2000.0, positive=True), seed=the_seed,
        timeout=fleet.number("timeout", 300.0, positive=True),
        step_timeout=fleet.number("step_timeout", 120.0, positive=True),
        image_size=size, image_compression=image.choice("compression", ("gzip", "none"), "gzip"),
        steps=tuple(_step(s) for s in r.tables("steps")),
        faults=tuple(_fault_rule(f, count, the_seed, profiles) for f in r.tables("faults")),
    )


def _step(r: Reader) -> Step:
    r.check_keys({"method", "params", "required", "concurrency"})
    method = r.text("method")
    if "." not in method:
        r.fail("method", "a method name like decom.disk_erase", method)
    params = r.table("params").data
    _check_placeholders(r, "params", params)
    return Step(method, dict(params), r.flag("required", False), r.integer("concurrency", 0, minimum=0))


def _check_placeholders(r: Reader, where: str, value: object) -> None:
    if isinstance(value, str) and value.startswith("@") and value not in PLACEHOLDERS:
        r.fail(where, "a placeholder among " + ", ".join(PLACEHOLDERS), value)
    if isinstance(value, dict):
        for k, v in value.items():
            _check_placeholders(r, f"{where}.{k}", v)
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_placeholders(r, f"{where}[{i}]", v)


def _fault_rule(r: Reader, machines: int, seed: int, profiles: tuple[str, ...]) -> FaultRule:
    fault = parse_fault(r, extra_keys=frozenset({"machines", "count", "profile"}))
    only = r.text("profile", None)
    if only is not None and only not in profile_names() and not Path(only).exists():
        r.fail("profile", "a profile name (" + ", ".join(profile_names()) + ")", only)
    eligible = [i for i in range(machines) if only is None or profiles[i % len(profiles)] == only]
    if r.has("machines"):
        chosen = r.data["machines"]
        if not isinstance(chosen, list) or not all(isinstance(i, int) and 0 <= i < machines for i in chosen):
            r.fail("machines", f"a list of machine indices in 0..{machines - 1}", chosen)
        return FaultRule(fault, tuple(i for i in chosen if i in eligible))
    count = min(r.integer("count", 1, minimum=0), len(eligible))
    rng = random.Random(f"{seed}/{fault.describe()}/{r.prefix}")
    return FaultRule(fault, tuple(sorted(rng.sample(eligible, count))))
