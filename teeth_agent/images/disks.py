"""Which disk: the install disk from root-device hints (else the smallest that fits), and a cache disk.

Pure: BlockDevice values in, a choice (or a clear error) out. Hints follow ironic's root_device names;
`size` is in GiB, as there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.types import BlockDevice
from teeth_agent.errors import InvalidParams, NotFound
from teeth_agent.params import get_int, get_str

GiB = 1 << 30
# Smaller disks are not install targets without an explicit hint (ironic uses the same floor).
MIN_INSTALL_BYTES = 4 * GiB
_HINTS = ("serial", "wwn", "model", "size", "path")


@dataclass(frozen=True)
class RootHints:
    serial: str | None = None
    wwn: str | None = None
    model: str | None = None
    size_gib: int | None = None
    path: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.serial, self.wwn, self.model, self.size_gib, self.path))

    def to_json(self) -> dict[str, Any]:
        out = {"serial": self.serial, "wwn": self.wwn, "model": self.model, "size": self.size_gib,
               "path": self.path}
        return {k: v for k, v in out.items() if v is not None}


def parse_hints(value: Any, field: str = "root_device") -> RootHints:
    if value is None:
        return RootHints()
    if not isinstance(value, dict):
        raise InvalidParams(field, f"expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(_HINTS))
    if unknown:
        raise InvalidParams(f"{field}.{unknown[0]}", f"unknown hint; use {', '.join(_HINTS)}")
    prefix = field + "."
    return RootHints(
        serial=get_str(value, "serial", None, prefix=prefix),
        wwn=get_str(value, "wwn", None, prefix=prefix),
        model=get_str(value, "model", None, prefix=prefix),
        size_gib=get_int(value, "size", None, minimum=1, prefix=prefix),
        path=get_str(value, "path", None, prefix=prefix),
    )


def usable(disk: BlockDevice) -> bool:
    """A disk the agent may write an image or a cache to."""
    return not (disk.read_only or disk.removable or disk.is_boot_medium)


def matches(disk: BlockDevice, hints: RootHints) -> bool:
    def same(want: str | None, have: str | None) -> bool:
        return want is None or (have is not None and want.strip().lower() == have.strip().lower())

    return (
        same(hints.serial, disk.serial)
        and same(hints.wwn, disk.wwn)
        and same(hints.model, disk.model)
        and same(hints.path, disk.path)
        and (hints.size_gib is None or disk.size // GiB == hints.size_gib)
    )


def choose_install_disk(disks: Iterable[BlockDevice], hints: RootHints, needed: int = 0) -> BlockDevice:
    candidates = [d for d in disks if usable(d)]
    if not hints.empty:
        found = [d for d in candidates if matches(d, hints)]
        if not found:
            raise NotFound(f"no usable disk matches the root device hints {hints.to_json()}",
                           details={"hints": hints.to_json()})
        return min(found, key=lambda d: (d.size, d.path))
    floor = max(needed, MIN_INSTALL_BYTES)
    fitting = [d for d in candidates if d.size >= floor]
    if not fitting:
        raise NotFound(f"no usable disk of at least {floor} bytes for the image",
                       details={"disks": [d.path for d in candidates]})
    return min(fitting, key=lambda d: (d.size, d.path))


def choose_cache_disk(disks: Iterable[BlockDevice], install: BlockDevice) -> BlockDevice | None:
    """The largest usable disk other than the install disk, or None (then only the install disk)."""
    others = [d for d in disks if usable(d) and d.path != install.path]
    return max(others, key=lambda d: (d.size, d.path), default=None)


def identity(disk: BlockDevice) -> dict[str, Any]:
    """What must still match for an index entry about this disk to be trusted after a restart."""
    return {"path": disk.path, "serial": disk.serial, "wwn": disk.wwn, "size": disk.size}
