"""Linux firmware: what is installed (DMI, sysfs, nvme-cli, ethtool), what can be updated, BIOS settings.

Updates go through updater plugins; the one built in is NVMe (`nvme fw-download` + `fw-commit`), used only
when the controller advertises firmware download (OACS bit 2). Everything else is reported as unsupported
with the reason, never pretended. BIOS settings use the kernel's firmware-attributes class
(/sys/class/firmware-attributes/*/attributes/NAME/current_value), which Dell, Lenovo and HP expose.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from teeth_agent.backend.api import Progress, SettingValue
from teeth_agent.backend.errors import DeviceNotFound, ToolError, Unsupported
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.inventory import LinuxInventory
from teeth_agent.backend.types import FirmwareComponent, FirmwareUpdateOutcome

TOOL_TIMEOUT = 60.0
FLASH_TIMEOUT = 900.0
OACS_FIRMWARE = 1 << 2
# fw-commit action 1: put the image in the slot and activate it at the next controller reset.
COMMIT_ON_RESET = "1"


def parse_ethtool_driver(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


class LinuxFirmware:
    def __init__(self, runner: Runner, inventory: LinuxInventory, root: Path = Path("/")) -> None:
        self._runner = runner
        self._inventory = inventory
        self._root = root

    def _read(self, path: Path) -> str | None:
        try:
            return path.read_text(errors="replace").strip() or None
        except OSError:
            return None

    async def _nvme_updatable(self, controller: str) -> tuple[bool, str | None]:
        try:
            out = await self._runner.run(
                ["nvme", "id-ctrl", f"/dev/{controller}", "-o", "json"], timeout=TOOL_TIMEOUT
            )
            oacs = int(json.loads(out.stdout).get("oacs", 0))
        except (ToolError, ValueError, TypeError) as exc:
            return False, f"cannot read controller abilities: {exc}"
        if not oacs & OACS_FIRMWARE:
            return False, "the controller does not support firmware download (OACS bit 2 clear)"
        return True, None

    async def _nvme_components(self) -> list[FirmwareComponent]:
        base = self._root / "sys/class/nvme"
        found = []
        for name in sorted(os.listdir(base)) if base.is_dir() else ():
            updatable, reason = await self._nvme_updatable(name)
            found.append(
                FirmwareComponent(
                    component="disk",
                    id=name,
                    vendor=None,
                    model=self._read(base / name / "model"),
                    version=self._read(base / name / "firmware_rev"),
                    updatable=updatable,
                    unsupported_reason=reason,
                )
            )
        return found

    def _ata_components(self) -> list[FirmwareComponent]:
        base = self._root / "sys/block"
        found = []
        for name in sorted(os.listdir(base)) if base.is_dir() else ():
            device = base / name / "device"
            if not name.startswith("sd") or self._read(device / "rev") is None:
                continue
            found.append(
                FirmwareComponent(
                    component="disk",
                    id=name,
                    vendor=self._read(device / "vendor"),
                    model=self._read(device / "model"),
                    version=self._read(device / "rev"),
                    updatable=False,
                    unsupported_reason="SATA/SAS drive firmware needs the vendor's image and tool plugin",
                )
            )
        return found

    async def _nic_components(self) -> list[FirmwareComponent]:
        found = []
        for nic in self._inventory.nics():
            try:
                info = parse_ethtool_driver(
                    (await self._runner.run(["ethtool", "-i", nic.name], timeout=TOOL_TIMEOUT)).stdout
                )
            except ToolError:
                info = {}
            version = info.get("firmware-version") or None
            found.append(
                FirmwareComponent(
                    component="nic",
                    id=nic.name,
                    vendor=None,
                    model=info.get("driver") or nic.driver,
                    version=None if version in (None, "N/A") else version,
                    updatable=False,
                    unsupported_reason="NIC firmware needs the vendor's tool plugin",
                )
            )
        return found

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        dmi = self._inventory.dmi()
        bios = FirmwareComponent(
            component="bios",
            id="bios",
            vendor=dmi.bios_vendor,
            model=dmi.product,
            version=dmi.bios_version,
            updatable=False,
            unsupported_reason="BIOS updates need the vendor's tool plugin",
        )
        return (bios, *await self._nvme_components(), *self._ata_components(), *await self._nic_components())

    async def apply_firmware(
        self, component_id: str, image_path: str, *, progress: Progress
    ) -> FirmwareUpdateOutcome:
        components = {c.id: c for c in await self.firmware_components()}
        component = components.get(component_id)
        if component is None:
            raise DeviceNotFound(f"no firmware component {component_id!r}")
        if not component.updatable:
            raise Unsupported(f"{component_id}: {component.unsupported_reason}")
        device = f"/dev/{component_id}"
        progress(0, 2)
        await self._runner.run(["nvme", "fw-download", device, f"--fw={image_path}"], timeout=FLASH_TIMEOUT)
        progress(1, 2)
        await self._runner.run(
            ["nvme", "fw-commit", device, "--slot=0", f"--action={COMMIT_ON_RESET}"], timeout=FLASH_TIMEOUT
        )
        progress(2, 2)
        return FirmwareUpdateOutcome(
            component_id,
            applied=True,
            reboot_required=True,
            message="committed; active after the next controller reset",
        )

    def _attributes(self) -> dict[str, Path]:
        base = self._root / "sys/class/firmware-attributes"
        found = {}
        for vendor in sorted(os.listdir(base)) if base.is_dir() else ():
            attrs = base / vendor / "attributes"
            for name in sorted(os.listdir(attrs)) if attrs.is_dir() else ():
                if (attrs / name / "current_value").is_file():
                    found[name] = attrs / name / "current_value"
        return found

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        return {name: self._read(path) or "" for name, path in self._attributes().items()}

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        attributes = self._attributes()
        if settings and not attributes:
            raise Unsupported("this machine exposes no BIOS settings (no /sys/class/firmware-attributes)")
        unknown = sorted(set(settings) - set(attributes))
        if unknown:
            raise Unsupported(f"BIOS settings not offered by this machine: {', '.join(unknown)}")
        for name, value in settings.items():
            text = ("Enabled" if value else "Disabled") if isinstance(value, bool) else str(value)
            attributes[name].write_text(text)
        return bool(settings)

    async def secure_boot(self) -> bool | None:
        return self._inventory.secure_boot()

    async def set_secure_boot(self, enabled: bool) -> bool:
        if self._inventory.secure_boot() is enabled:
            return False
        raise Unsupported("changing Secure Boot needs the BMC or firmware setup; the OS cannot do it")
