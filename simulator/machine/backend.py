"""`SimBackend`: the simulator's implementation of `teeth_agent.backend.api.Backend`.

    backend = make_backend("1u-nvme", seed=7, clock=SimClock(speed=1000))

The agent CLI calls `make_backend(profile)` for `--backend sim --profile NAME`. Everything a flow does
goes to the `SimMachine` (`backend.machine`), which tests and the fleet runner inspect directly:
disk contents byte for byte, ATA/NVMe state, firmware versions, what OS is running and its boot id.

Additions beyond the protocol (simulator only): `machine`, `sanitize_log(path)`.
"""

from __future__ import annotations

from simulator.machine.block_io import SimBlockHandle, SimBlockIO
from simulator.machine.boot import SimBoot, SimInventoryFirmware
from simulator.machine.clock import SimClock
from simulator.machine.disk_ops import SimDisks
from simulator.machine.faults import Fault
from simulator.machine.machine import SimMachine
from simulator.machine.profile import MachineProfile, load_profile
from teeth_agent.backend.api import Clock

# Default speed when no clock is given: an hour of erase passes in 3.6 wall seconds.
DEFAULT_SPEED = 1000.0

__all__ = ["SimBackend", "SimBlockHandle", "make_backend"]


class SimBackend(SimDisks, SimBlockIO, SimInventoryFirmware, SimBoot):
    def __init__(self, machine: SimMachine, clock: Clock) -> None:
        self.machine = machine
        self._clock = clock
        self._erase_generation = 0

    @property
    def name(self) -> str:
        return "sim"

    @property
    def clock(self) -> Clock:
        return self._clock

    async def boot_id(self) -> str:
        return self.machine.boot_id


def make_backend(
    profile: str | MachineProfile,
    *,
    seed: int = 0,
    clock: Clock | None = None,
    serial: str | None = None,
    faults: tuple[Fault, ...] = (),
) -> SimBackend:
    """A simulated machine of `profile` (a shipped name, a .toml path, or a parsed profile).

    A malformed profile raises `simulator.machine.tomlread.SpecError` naming the file, field and expectation.
    """
    parsed = load_profile(profile) if isinstance(profile, str) else profile
    machine = SimMachine(parsed, seed=seed, serial=serial, faults=faults)
    return SimBackend(machine, clock if clock is not None else SimClock(DEFAULT_SPEED))
