"""Which UEFI boot entries an earlier tenant left, from `efibootmgr -v` output (pure).

An entry whose device path names a file on a disk partition (`HD(...)/File(...)`) is an operating system's
loader: someone installed it. Entries without one are the firmware's own (its setup app and shell as
`FvVol/FvFile`, network boot as `MAC(...)`, removable media and disks it enumerated itself as
`PciRoot/.../Sata(...)` or `NVMe(...)`), and are kept. Of the OS loaders, only the newest entry with our
label survives (the one the install just created, first in BootOrder); every other one is stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENTRY = re.compile(r"^Boot([0-9A-Fa-f]{4})(\*?)\s+(.*)$")


@dataclass(frozen=True)
class EfiEntry:
    number: str  # four hex digits, as efibootmgr -b takes it
    active: bool
    label: str
    device_path: str

    @property
    def os_loader(self) -> bool:
        return "HD(" in self.device_path and "File(" in self.device_path


@dataclass(frozen=True)
class EfiBootState:
    order: tuple[str, ...]
    entries: tuple[EfiEntry, ...]


def parse_efibootmgr(text: str) -> EfiBootState:
    order: tuple[str, ...] = ()
    entries = []
    for line in text.splitlines():
        if line.startswith("BootOrder:"):
            order = tuple(n.strip().upper() for n in line.split(":", 1)[1].split(",") if n.strip())
            continue
        match = _ENTRY.match(line)
        if match is None:
            continue
        number, star, rest = match.groups()
        # efibootmgr separates the label from the device path with a tab; older builds with spaces only.
        label, sep, path = rest.partition("\t")
        if not sep:
            label, path = _split_on_path(rest)
        entries.append(EfiEntry(number.upper(), star == "*", label.strip(), path.strip()))
    return EfiBootState(order, tuple(entries))


def _split_on_path(rest: str) -> tuple[str, str]:
    found = re.search(r"\s(HD|PciRoot|FvVol|VenHw|VenMedia|BBS|MAC|Uri|File)\(", rest)
    if found is None:
        return rest, ""
    return rest[: found.start()], rest[found.start() + 1 :]


def stale_entries(state: EfiBootState, keep_label: str) -> tuple[EfiEntry, ...]:
    """OS-loader entries to delete: all but the first (in BootOrder) that carries `keep_label`."""
    rank = {number: i for i, number in enumerate(state.order)}
    ours = sorted((e for e in state.entries if e.os_loader and e.label == keep_label),
                  key=lambda e: rank.get(e.number, len(rank)))
    keep = ours[0].number if ours else None
    return tuple(e for e in state.entries if e.os_loader and e.number != keep)
