"""Hardware faults injected into a machine that is already running (`teeth-sim fault`).

A profile's or scenario's faults are built into the machine at power-on; these hooks add one later, with
the same meaning: from the next operation on, the disk lies or errors, the drive is frozen, the component's
flashes fail. Network faults (links, downloads) are not the machine's: the fleet applies those.
"""

from __future__ import annotations

from simulator.machine.faults import HARDWARE_KINDS, Fault
from simulator.machine.machine import SimMachine
from teeth_agent.backend.errors import DeviceNotFound


def inject(machine: SimMachine, fault: Fault) -> str:
    """Add `fault` to the running `machine`; return what it now affects. ValueError names a bad target."""
    if fault.kind not in HARDWARE_KINDS:
        raise ValueError(f"{fault.kind} is not a hardware fault ({', '.join(HARDWARE_KINDS)})")
    if fault.kind == "flash_fail":
        component = fault.component or ""
        if component not in machine.firmware.specs:
            have = ", ".join(machine.firmware.specs)
            raise ValueError(f"no firmware component {component!r} (have: {have})")
        machine.faults = (*machine.faults, fault)
        machine.firmware.failing.add(component)
        return f"component {component}"
    if not fault.disk:
        raise ValueError(f"{fault.kind} needs a disk (have: {', '.join(machine.disks)})")
    try:
        disk = machine.disk(fault.disk)
    except DeviceNotFound:
        raise ValueError(f"no disk {fault.disk!r} (have: {', '.join(machine.disks)})") from None
    machine.faults = (*machine.faults, fault)
    disk.faults = (*disk.faults, fault)
    if fault.kind == "frozen" and disk.ata is not None:
        disk.ata.frozen = True
    return f"disk {disk.path}"
