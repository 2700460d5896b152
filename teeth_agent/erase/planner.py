"""Pure erase planner: the disks a backend reports + EraseParams -> what happens to each disk, and why.

Every disk the backend lists appears in the plan with one action:
  erase   a method was chosen (the strongest allowed and possible); passed-over methods carry reasons
  skip    not selected: outside `devices`, in `skip`, or — in the default selection — not eligible
          (a guard, or a removable medium). Skips never fail the task.
  refuse  selected but cannot be erased: a guard on an explicitly named disk, a locked drive whose password
          is not known, or no allowed method is possible. A refusal fails the task.
Unknown or ambiguous device names raise InvalidParams, before any disk is touched.

Planning runs in two passes: first which disks are selected at all, then a method per selected disk —
because an NVMe format that applies to every namespace (FNA), or any sanitize (controller-wide), would
also erase sibling namespaces that are not selected; such methods are skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from teeth_agent.backend.types import BlockDevice
from teeth_agent.erase import estimate
from teeth_agent.erase.ladder import LADDER, Facts, Method, blocker, nvme_controller
from teeth_agent.erase.params import EraseParams
from teeth_agent.errors import InvalidParams

Action = Literal["erase", "skip", "refuse"]
QUICK_METHOD = "wipe_signatures"

# Filesystems that live on shared storage: another machine may be using this disk right now.
CLUSTERED_FS = frozenset({"gfs", "gfs2", "ocfs", "ocfs2", "vmfs", "vmfs_volume_member", "gpfs", "glusterfs"})


@dataclass(frozen=True)
class Skipped:
    method: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"method": self.method, "reason": self.reason}


@dataclass(frozen=True)
class DiskPlan:
    device: BlockDevice
    action: Action
    method: str | None = None  # a Method value, or QUICK_METHOD
    reason: str | None = None  # why skipped or refused
    skipped: tuple[Skipped, ...] = ()
    ata_frozen: bool = False
    # A user password is set and known: unlock (if locked) and disable it before anything else.
    release_password: bool = False
    estimate_seconds: float = 0.0
    # Weaker allowed methods that are also possible, tried in order if the chosen one fails before it
    # changed anything (unsupported after all, the drive froze since planning, the tool refused).
    fallbacks: tuple[str, ...] = ()
    # Facts an operator must know even though the erase may succeed.
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.device.identity,
            "action": self.action,
            "method": self.method,
            "skipped_methods": [s.to_json() for s in self.skipped],
            "ata_frozen": self.ata_frozen,
            "estimate_seconds": round(self.estimate_seconds, 1),
            "fallbacks": list(self.fallbacks),
            "warnings": list(self.warnings),
        }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.release_password:
            out["release_password"] = True
        return out


@dataclass(frozen=True)
class ErasePlan:
    mode: str
    verify: str
    disks: tuple[DiskPlan, ...]

    def to_erase(self) -> tuple[DiskPlan, ...]:
        return tuple(d for d in self.disks if d.action == "erase")

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "verify": self.verify, "disks": [d.to_json() for d in self.disks]}


_STAYS_LOCKED = (
    "ATA security is enabled with a password that cannot be removed here (unknown, or the drive is frozen): "
    "the drive will be locked at its next power-up"
)


def guard_reason(dev: BlockDevice) -> str | None:
    """Why this disk must never be erased, or None."""
    if dev.read_only:
        return "device is read-only"
    if dev.raid_member:
        return "device is a member of a RAID array"
    clustered = sorted(s for s in dev.fs_signatures if s.lower() in CLUSTERED_FS)
    if clustered:
        return f"device holds a clustered filesystem signature ({', '.join(clustered)}): shared storage"
    if dev.is_boot_medium:
        return "device is the medium the agent booted from"
    return None


def resolve(disks: Sequence[BlockDevice], selectors: Sequence[str], field: str) -> frozenset[str]:
    """Device names (path, kernel name, serial or wwn) -> disk paths; InvalidParams for unknown or
    ambiguous names."""
    paths: set[str] = set()
    for sel in selectors:
        matches = [d.path for d in disks if sel in (d.path, d.serial, d.wwn) or "/dev/" + sel == d.path]
        if not matches:
            raise InvalidParams(field, f"unknown device {sel!r}: no disk has that path, name, serial or wwn")
        if len(matches) > 1:
            raise InvalidParams(field, f"ambiguous device {sel!r}: matches {', '.join(sorted(matches))}")
        paths.update(matches)
    return frozenset(paths)


def _walk_ladder(
    dev: BlockDevice, params: EraseParams, facts: Facts
) -> tuple[list[Method], tuple[Skipped, ...]]:
    """Every allowed and possible method, strongest first, and the reasons for those passed over before
    the first of them."""
    skipped: list[Skipped] = []
    possible: list[Method] = []
    for method in LADDER:
        if not params.allowed(method):
            off = method is Method.OVERWRITE and not params.allow_overwrite
            reason: str | None = "allow_overwrite is false" if off else "not in the allowed methods"
        else:
            reason = blocker(method, dev, facts)
        if reason is None:
            possible.append(method)
        elif not possible:
            skipped.append(Skipped(method.value, reason))
    return possible, tuple(skipped)


def _selection_skip(
    dev: BlockDevice, params: EraseParams, named: frozenset[str], skip: frozenset[str]
) -> tuple[Action, str] | None:
    if dev.path in skip:
        return "skip", "listed in skip"
    explicit = dev.path in named
    if params.devices is not None and not explicit:
        return "skip", "not listed in devices"
    guard = guard_reason(dev)
    if guard is not None:
        return ("refuse" if explicit else "skip"), guard
    if dev.removable and not explicit:
        return "skip", "removable medium; name it in devices to erase it"
    return None


def exclusion(
    dev: BlockDevice, params: EraseParams, named: frozenset[str], skip: frozenset[str]
) -> DiskPlan | None:
    """The plan of a disk that will not be erased (skipped or refused before any method), or None."""
    sec = dev.ata_security
    frozen = bool(sec is not None and sec.frozen)
    excluded = _selection_skip(dev, params, named, skip)
    if excluded is not None:
        return DiskPlan(dev, excluded[0], reason=excluded[1], ata_frozen=frozen)
    if sec is not None and sec.locked and params.ata_password is None:
        why = "drive is locked with a user password that is not known (give ata_password)"
        return DiskPlan(dev, "refuse", reason=why, ata_frozen=frozen)
    if sec is not None and sec.locked and frozen:
        why = "drive is locked and frozen: it cannot be unlocked until unfrozen (power-cycle or hot-plug)"
        return DiskPlan(dev, "refuse", reason=why, ata_frozen=True)
    return None


def choose(dev: BlockDevice, params: EraseParams, facts: Facts) -> DiskPlan:
    """The plan of a selected disk: its method (or a refusal), every method passed over and why."""
    sec = dev.ata_security
    frozen = bool(sec is not None and sec.frozen)
    locked = bool(sec is not None and sec.locked)
    release = bool(sec and (sec.enabled or locked) and not frozen and params.ata_password is not None)
    warnings: tuple[str, ...] = ()
    if sec is not None and sec.enabled and not release:
        warnings = (_STAYS_LOCKED,)
    if params.mode == "quick":
        seconds = estimate.quick_seconds()
        return DiskPlan(
            dev, "erase", QUICK_METHOD, release_password=release, estimate_seconds=seconds, warnings=warnings
        )
    possible, skipped = _walk_ladder(dev, params, facts)
    if not possible:
        why = "no allowed erase method is possible on this disk"
        return DiskPlan(dev, "refuse", reason=why, skipped=skipped, ata_frozen=frozen)
    method, fallbacks = possible[0], tuple(m.value for m in possible[1:])
    seconds = estimate.erase_seconds(dev, method) + estimate.verify_seconds(dev, params.verify)
    return DiskPlan(dev, "erase", method.value, None, skipped, frozen, release, seconds, fallbacks, warnings)


def _spared_siblings(
    dev: BlockDevice, disks: Sequence[BlockDevice], selected: frozenset[str]
) -> tuple[str, ...]:
    controller = nvme_controller(dev.path)
    if controller is None:
        return ()
    same = [d.path for d in disks if nvme_controller(d.path) == controller]
    spared = sorted(p for p in same if p not in selected)
    # Namespaces the agent cannot see (hidden by an allowlist) are spared too: never erase them unseen.
    hidden = (dev.nvme.namespace_count or 0) - len(same) if dev.nvme else 0
    if hidden > 0:
        spared.append(f"{hidden} namespace(s) not visible to the agent")
    return tuple(spared)


def plan_erase(disks: Sequence[BlockDevice], params: EraseParams) -> ErasePlan:
    """The whole plan; raises InvalidParams for device names that match no disk (or several)."""
    named = resolve(disks, params.devices or (), "devices")
    skip = resolve(disks, params.skip, "skip")
    both = sorted(named & skip)
    if both:
        raise InvalidParams("skip", f"{both[0]} is selected by devices and by skip")
    ordered = sorted(disks, key=lambda d: d.path)
    excluded = {d.path: exclusion(d, params, named, skip) for d in ordered}
    selected = frozenset(p for p, x in excluded.items() if x is None)
    plans = []
    for d in ordered:
        early = excluded[d.path]
        if early is None:
            facts = Facts(params.ata_password is not None, _spared_siblings(d, ordered, selected))
            early = choose(d, params, facts)
        plans.append(early)
    return ErasePlan(params.mode, params.verify, tuple(plans))
