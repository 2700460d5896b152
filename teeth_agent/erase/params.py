"""Params of decom.disk_erase: parsed and checked before the task is accepted.

    devices          [path | name | serial | wwn] default: every eligible disk ("/dev/sda", "sda", ...)
    skip             [path | name | serial | wwn] never touched
    methods          [ladder name, ...]          default: the whole ladder; narrows what may be used
    allow_overwrite  bool (true)                 false forbids the overwrite fallback
    mode             "secure" | "quick"          quick wipes metadata only (signatures, both GPT copies)
    verify           "sample" | "full" | "none"  canary check after erasing (default sample)
    dry_run          bool (false)                return the plan, touch nothing
    ata_password     string                      a user password already set on locked/enabled drives;
                                                 a drive is only ever unlocked with it. Never echoed.
    concurrency      int >= 1 (16)               disks erased at the same time. Most time goes to
                                                 drive-internal erases (ATA, NVMe) that cost the host
                                                 nothing, so the default covers a typical chassis at once;
                                                 lower it to spare a shared HBA during overwrites.

Whether `devices`/`skip` name real disks needs the backend, so that check runs in the planner — still
before any disk is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from teeth_agent.erase.ladder import LADDER, Method
from teeth_agent.errors import InvalidParams
from teeth_agent.params import get_bool, get_choice, get_int, get_str, get_str_list

DEFAULT_CONCURRENCY = 16
Mode = Literal["secure", "quick"]
Verify = Literal["sample", "full", "none"]

KNOWN_KEYS = frozenset(
    {
        "task_id",
        "devices",
        "skip",
        "methods",
        "allow_overwrite",
        "mode",
        "verify",
        "dry_run",
        "ata_password",
        "concurrency",
    }
)


@dataclass(frozen=True)
class EraseParams:
    devices: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    methods: tuple[Method, ...] = LADDER
    allow_overwrite: bool = True
    mode: Mode = "secure"
    verify: Verify = "sample"
    dry_run: bool = False
    ata_password: str | None = field(default=None, repr=False)
    concurrency: int = DEFAULT_CONCURRENCY

    def allowed(self, method: Method) -> bool:
        if method is Method.OVERWRITE and not self.allow_overwrite:
            return False
        return method in self.methods


def _methods(params: Mapping[str, Any]) -> tuple[Method, ...]:
    names = get_str_list(params, "methods", None)
    if names is None:
        return LADDER
    if not names:
        raise InvalidParams("methods", "empty list allows no method; omit it to allow the whole ladder")
    known = {m.value for m in LADDER}
    for name in names:
        if name not in known:
            raise InvalidParams("methods", f"unknown method {name!r}; known: {', '.join(sorted(known))}")
    return tuple(m for m in LADDER if m.value in names)


def _selectors(params: Mapping[str, Any], key: str, default: Any) -> Any:
    value = get_str_list(params, key, default)
    if value is None:
        return None
    for item in value:
        if not item.strip():
            raise InvalidParams(key, "contains an empty device name")
    if len(set(value)) != len(value):
        raise InvalidParams(key, "names a device twice")
    return value


def parse_erase_params(params: Mapping[str, Any]) -> EraseParams:
    """Params -> EraseParams, or InvalidParams naming the field at fault."""
    unknown = sorted(set(params) - KNOWN_KEYS)
    if unknown:
        raise InvalidParams(unknown[0], "unknown parameter")
    devices = _selectors(params, "devices", None)
    if devices is not None and not devices:
        raise InvalidParams("devices", "empty list selects nothing; omit it to select every eligible disk")
    skip = _selectors(params, "skip", ())
    both = sorted(set(devices or ()) & set(skip))
    if both:
        raise InvalidParams("skip", f"{both[0]!r} is both in devices and in skip")
    methods = _methods(params)
    allow_overwrite = get_bool(params, "allow_overwrite", True)
    if not allow_overwrite and Method.OVERWRITE in methods and "methods" in params:
        raise InvalidParams("allow_overwrite", "false contradicts 'overwrite' listed in methods")
    mode = get_choice(params, "mode", ("secure", "quick"), "secure")
    verify = get_choice(params, "verify", ("sample", "full", "none"), "sample")
    if mode == "quick" and "methods" in params:
        raise InvalidParams("methods", "mode 'quick' wipes metadata only and uses no erase method")
    if mode == "quick" and verify == "full":
        raise InvalidParams("verify", "mode 'quick' leaves data in place; 'full' verification cannot pass")
    password = get_str(params, "ata_password", None)
    if password is not None and not 1 <= len(password.encode()) <= 32:
        raise InvalidParams("ata_password", "must be 1 to 32 bytes (the ATA password field)")
    return EraseParams(
        devices=devices,
        skip=skip,
        methods=methods,
        allow_overwrite=allow_overwrite,
        mode=mode,
        verify=verify,
        dry_run=get_bool(params, "dry_run", False),
        ata_password=password,
        concurrency=get_int(params, "concurrency", DEFAULT_CONCURRENCY, minimum=1),
    )
