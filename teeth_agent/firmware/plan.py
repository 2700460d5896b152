"""Pure firmware planning: the components a machine reports + a Manifest -> what to do to each.

Component actions:
  update          a manifest entry matches, the version differs, and the backend can update it
  up_to_date      already at the pinned version
  unsupported     the version differs but nothing here can update it (the backend's reason, verbatim)
  unmanaged       no manifest entry matches this component (reported, left alone)
Manifest entries matching no component are listed as `not_present` (manifests span fleets).
Settings: "set" (differs), "already" (equal), "unsupported" (not offered, or no settings interface).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from teeth_agent.backend.api import SettingValue
from teeth_agent.backend.types import FirmwareComponent
from teeth_agent.firmware.manifest import FirmwareEntry, Manifest, norm

ComponentKind = Literal["update", "up_to_date", "unsupported", "unmanaged"]
SettingKind = Literal["set", "already", "unsupported"]
SETTINGS_COMPONENT = "bios"  # the only component with a settings interface in the Backend


@dataclass(frozen=True)
class ComponentAction:
    component: FirmwareComponent
    kind: ComponentKind
    entry: FirmwareEntry | None = None
    reason: str | None = None


@dataclass(frozen=True)
class SettingAction:
    component: str
    name: str
    target: SettingValue
    current: SettingValue | None
    kind: SettingKind
    reason: str | None = None


@dataclass(frozen=True)
class FirmwarePlan:
    components: tuple[ComponentAction, ...]
    not_present: tuple[FirmwareEntry, ...]
    settings: tuple[SettingAction, ...]
    secure_boot: tuple[bool | None, bool | None]  # (current, requested)

    def to_json(self) -> dict[str, Any]:
        return {
            "components": [
                {
                    "id": a.component.id,
                    "action": a.kind,
                    "version": a.component.version,
                    "target": a.entry.version if a.entry else None,
                    "reason": a.reason,
                }
                for a in self.components
            ],
            "not_present": [
                {"component": e.component, "vendor": e.vendor, "model": e.model} for e in self.not_present
            ],
            "settings": [{"component": s.component, "name": s.name, "action": s.kind} for s in self.settings],
        }


def setting_text(value: SettingValue | None) -> str:
    """How a setting compares: sysfs firmware-attributes are text, manifests may use JSON types."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().casefold() if value is not None else ""


def same_setting(current: SettingValue | None, target: SettingValue) -> bool:
    return current == target or (isinstance(current, str) and setting_text(current) == setting_text(target))


def matches(entry: FirmwareEntry, comp: FirmwareComponent) -> bool:
    if norm(entry.component) != norm(comp.component):
        return False
    if entry.vendor is not None and norm(entry.vendor) != norm(comp.vendor):
        return False
    return entry.model is None or norm(entry.model) == norm(comp.model)


def _component(comp: FirmwareComponent, entries: Sequence[FirmwareEntry]) -> ComponentAction:
    entry = next((e for e in entries if matches(e, comp)), None)
    if entry is None:
        return ComponentAction(comp, "unmanaged")
    if comp.version is not None and comp.version.strip() == entry.version.strip():
        return ComponentAction(comp, "up_to_date", entry)
    if not comp.updatable:
        reason = comp.unsupported_reason or "the backend cannot update this component"
        return ComponentAction(comp, "unsupported", entry, reason)
    return ComponentAction(comp, "update", entry)


def _settings(
    wanted: Mapping[str, Mapping[str, SettingValue]], current: Mapping[str, SettingValue]
) -> tuple[SettingAction, ...]:
    out: list[SettingAction] = []
    for component, values in sorted(wanted.items()):
        for name, target in sorted(values.items()):
            if norm(component) != SETTINGS_COMPONENT:
                why = f"no settings interface for component {component!r}"
                out.append(SettingAction(component, name, target, None, "unsupported", why))
            elif name not in current:
                why = "this firmware does not offer the setting"
                out.append(SettingAction(component, name, target, None, "unsupported", why))
            elif not isinstance(current[name], str) and type(current[name]) is not type(target):
                why = f"the setting takes a {type(current[name]).__name__}, not {target!r}"
                out.append(SettingAction(component, name, target, current[name], "unsupported", why))
            else:
                kind: SettingKind = "already" if same_setting(current[name], target) else "set"
                out.append(SettingAction(component, name, target, current[name], kind))
    return tuple(out)


def plan_firmware(
    components: Sequence[FirmwareComponent],
    manifest: Manifest,
    bios_settings: Mapping[str, SettingValue],
    secure_boot: bool | None,
) -> FirmwarePlan:
    actions = tuple(_component(c, manifest.firmware) for c in components)
    absent = tuple(e for e in manifest.firmware if not any(matches(e, c) for c in components))
    settings = _settings(manifest.settings, bios_settings)
    return FirmwarePlan(actions, absent, settings, (secure_boot, manifest.secure_boot))
