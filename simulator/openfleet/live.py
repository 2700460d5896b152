"""Faults injected into a running machine by name: `teeth-sim fault MACHINE KIND [ARGS]`.

    lying_disk DISK | frozen DISK | io_error DISK [offset=N] [length=N] [op=read|write|both]
    flash_fail COMPONENT | slow_download RATE | truncated_download AT | drop_link | power_loss

ARGS are positional (the one field each kind is about) or key=value, with the scenario files' meanings
(sizes like 4M). A bad kind or argument is a ValueError naming it; nothing is changed then.
"""

from __future__ import annotations

from simulator.machine.faults import HARDWARE_KINDS, parse_fault
from simulator.machine.tomlread import Reader, SpecError
from simulator.openfleet.machine_host import MachineHost

POSITIONAL = {"lying_disk": "disk", "frozen": "disk", "io_error": "disk", "flash_fail": "component",
              "slow_download": "rate", "truncated_download": "at"}
LIVE_KINDS = (*HARDWARE_KINDS, "slow_download", "truncated_download", "drop_link", "power_loss")


def _fields(kind: str, args: list[str]) -> dict[str, object]:
    data: dict[str, object] = {"kind": kind}
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq:
            if kind not in POSITIONAL or POSITIONAL[kind] in data:
                raise ValueError(f"{kind}: unexpected argument {arg!r}")
            key, value = POSITIONAL[kind], arg
        data[key] = int(value) if value.isdigit() and key in ("offset", "length") else value
    return data


def apply(host: MachineHost, kind: str, args: list[str]) -> str:
    """Inject the fault; return what happened."""
    if kind in ("drop_link", "drop_connection"):
        if args:
            raise ValueError(f"{kind} takes no arguments")
        return _noted(host, "drop_link", host.drop_link())
    if kind == "power_loss":
        if args:
            raise ValueError("power_loss takes no arguments")
        return _noted(host, "power_loss", host.power_loss())
    if kind not in LIVE_KINDS:
        raise ValueError(f"unknown fault kind {kind!r} (one of {', '.join(LIVE_KINDS)})")
    try:
        fault = parse_fault(Reader("fault", "", _fields(kind, args)))
    except SpecError as exc:
        raise ValueError(str(exc)) from None
    if kind == "slow_download":
        host.downloads.slow_rate = fault.rate
        done = f"downloads limited to {fault.rate} bytes/s"
    elif kind == "truncated_download":
        host.downloads.truncate_at, host.downloads.truncated_once = fault.at, False
        done = f"next download cut after {fault.at} bytes"
    else:
        return _noted(host, fault.describe(), host.hardware(fault))
    # Download faults act on the next link (its commands' URLs are rewritten): start one now.
    if host.link.writers:
        host.drop_link()
        done += " (link restarted to route downloads through the fault relay)"
    return _noted(host, fault.describe(), done)


def _noted(host: MachineHost, described: str, done: str) -> str:
    host.injected.append(described)
    return f"{host.name}: {described}: {done}"
