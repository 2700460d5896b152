"""Firmware components, BIOS settings and Secure Boot of a simulated machine, with update behaviour.

Per component, the profile says what a flash does: `now` (the new version reads back at once),
`on_reboot` (staged; the version changes at the next reboot, not at a kexec), `fail` (the flash tool
errors and the version is unchanged) or `unsupported` (no updater; the reason is reported). BIOS settings
and Secure Boot changes are staged until reboot unless the profile says `bios_settings_apply = "now"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from simulator.machine.image_format import parse_firmware_image
from simulator.machine.profile import FirmwareSpec, MachineProfile
from teeth_agent.backend.errors import DeviceNotFound, ToolError, Unsupported
from teeth_agent.backend.types import FirmwareComponent

SettingValue = str | int | bool


@dataclass
class FirmwareState:
    specs: dict[str, FirmwareSpec]
    versions: dict[str, str]
    failing: set[str]
    settings: dict[str, SettingValue]
    settings_apply: str
    secure_boot: bool | None
    pending_versions: dict[str, str] = field(default_factory=dict)
    pending_settings: dict[str, SettingValue] = field(default_factory=dict)
    pending_secure_boot: bool | None = None

    @classmethod
    def from_profile(cls, profile: MachineProfile, failing: set[str]) -> FirmwareState:
        return cls(specs={f.id: f for f in profile.firmware},
                   versions={f.id: f.version for f in profile.firmware},
                   failing=failing, settings=dict(profile.bios_settings),
                   settings_apply=profile.bios_settings_apply, secure_boot=profile.secure_boot)

    def components(self) -> tuple[FirmwareComponent, ...]:
        return tuple(
            FirmwareComponent(component=s.component, id=s.id, vendor=s.vendor, model=s.model,
                              version=self.versions[s.id], updatable=s.update != "unsupported",
                              unsupported_reason=(s.unsupported_reason or "no updater for this component")
                              if s.update == "unsupported" else None)
            for s in self.specs.values()
        )

    def check_flash(self, component_id: str, image_path: str) -> tuple[FirmwareSpec, str]:
        """Validate an update before flashing; return the spec and the image's version."""
        spec = self.specs.get(component_id)
        if spec is None:
            raise DeviceNotFound(f"no firmware component {component_id!r} (have: {', '.join(self.specs)})")
        if spec.update == "unsupported":
            raise Unsupported(f"{component_id}: {spec.unsupported_reason or 'no updater for this component'}")
        argv = ["fwupdtool", "install-blob", image_path, component_id]
        try:
            with Path(image_path).open("rb") as f:
                head = f.read(4096)
        except OSError as exc:
            raise ToolError(argv, 1, f"failed to load {image_path}: {exc.strerror}\n") from None
        parsed = parse_firmware_image(head)
        if parsed is None:
            raise ToolError(argv, 1, f"{image_path}: firmware image not recognised by the updater\n")
        if parsed[0] != spec.component:
            msg = f"image is for a {parsed[0]}, not for {component_id} ({spec.component})\n"
            raise ToolError(argv, 1, msg)
        return spec, parsed[1]

    def finish_flash(self, spec: FirmwareSpec, version: str) -> bool:
        """Apply (or stage) a flashed version; return whether a reboot is required."""
        if spec.update == "fail" or spec.id in self.failing:
            raise ToolError(["fwupdtool", "install-blob", spec.id], 1,
                            f"failed to write {spec.id}: device did not respond after flash write\n")
        if spec.update == "on_reboot":
            self.pending_versions[spec.id] = version
            return True
        self.versions[spec.id] = version
        return False

    def apply_settings(self, settings: dict[str, SettingValue]) -> bool:
        for name, value in settings.items():
            if name not in self.settings:
                raise Unsupported(f"unknown BIOS setting {name!r}")
            if type(value) is not type(self.settings[name]):
                raise Unsupported(f"BIOS setting {name!r} takes a {type(self.settings[name]).__name__}, "
                                  f"not {value!r}")
        changed = {k: v for k, v in settings.items() if self.settings[k] != v}
        if self.settings_apply == "now":
            self.settings.update(changed)
            return False
        self.pending_settings.update(changed)
        return bool(changed)

    def set_secure_boot(self, enabled: bool) -> bool:
        if self.secure_boot is None:
            raise Unsupported("Secure Boot needs UEFI boot mode; this machine boots in legacy BIOS mode")
        if enabled == self.secure_boot:
            self.pending_secure_boot = None
            return False
        self.pending_secure_boot = enabled
        return True

    def on_reboot(self) -> dict[str, str]:
        """Apply everything staged; return the components whose version changed."""
        changed = dict(self.pending_versions)
        self.versions.update(changed)
        self.settings.update(self.pending_settings)
        if self.pending_secure_boot is not None:
            self.secure_boot = self.pending_secure_boot
        self.pending_versions.clear()
        self.pending_settings.clear()
        self.pending_secure_boot = None
        return changed

