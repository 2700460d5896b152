"""Fault injection: what can go wrong on a simulated machine, parsed from a profile or a scenario.

Hardware faults act inside the `SimMachine` (disks, firmware); network faults act in the fleet runner (the
image server and the connection proxy). Each is a frozen value; the code that injects them reads these.

    kind = "io_error"            disk, offset, length, op = "read" | "write" | "both"
    kind = "lying_disk"          disk: erase/format/discard/overwrite report success, contents unchanged
    kind = "frozen"              disk: ATA security frozen (the BIOS froze it at boot)
    kind = "flash_fail"          component: firmware updates of that component id fail
    kind = "slow_download"       rate (bytes per wall second, e.g. "2M")
    kind = "truncated_download"  at (bytes, e.g. "1M"): the server closes after that many body bytes, once
    kind = "drop_connection"     at_message (n-th agent->endpoint line after which the link is cut, once)
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.machine.tomlread import Reader

HARDWARE_KINDS = ("io_error", "lying_disk", "frozen", "flash_fail")
NETWORK_KINDS = ("slow_download", "truncated_download", "drop_connection")
KINDS = HARDWARE_KINDS + NETWORK_KINDS


@dataclass(frozen=True)
class Fault:
    kind: str
    disk: str | None = None  # kernel name ("sdc") or serial
    offset: int = 0
    length: int = 0
    op: str = "both"
    component: str | None = None
    rate: int = 0
    at: int = 0

    def describe(self) -> str:
        target = self.disk or self.component or ""
        return f"{self.kind}({target})" if target else self.kind


_FIELDS = {
    "io_error": {"disk", "offset", "length", "op"},
    "lying_disk": {"disk"},
    "frozen": {"disk"},
    "flash_fail": {"component"},
    "slow_download": {"rate"},
    "truncated_download": {"at"},
    "drop_connection": {"at_message"},
}


def parse_fault(r: Reader, *, extra_keys: frozenset[str] = frozenset()) -> Fault:
    kind = r.choice("kind", KINDS)
    r.check_keys({"kind"} | _FIELDS[kind] | set(extra_keys))
    if kind == "io_error":
        return Fault(
            kind,
            disk=r.text("disk"),
            offset=r.size("offset"),
            length=r.size("length", 4096),
            op=r.choice("op", ("read", "write", "both"), "both"),
        )
    if kind in ("lying_disk", "frozen"):
        return Fault(kind, disk=r.text("disk"))
    if kind == "flash_fail":
        return Fault(kind, component=r.text("component"))
    if kind == "slow_download":
        return Fault(kind, rate=r.size("rate"))
    if kind == "truncated_download":
        return Fault(kind, at=r.size("at"))
    return Fault(kind, at=r.integer("at_message", minimum=1))


def for_disk(faults: tuple[Fault, ...], name: str, serial: str | None) -> tuple[Fault, ...]:
    return tuple(f for f in faults if f.disk is not None and f.disk in (name, serial))
