"""Linux firmware inventory and updates over a sysfs tree and a table of tool answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from teeth_agent.backend.errors import Unsupported
from teeth_agent.backend.linux.exec import FakeRunner, ok
from teeth_agent.backend.linux.firmware import LinuxFirmware, parse_ethtool_driver
from teeth_agent.backend.linux.inventory import LinuxInventory
from teeth_agent.backend.types import BlockDevice

ETHTOOL_I = """driver: ice
version: 6.1.0-13-amd64
firmware-version: 4.20 0x80017785 1.3346.0
bus-info: 0000:31:00.0
supports-statistics: yes
"""


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


async def no_disks() -> tuple[BlockDevice, ...]:
    return ()


def machine(root: Path, *, settings: bool = False) -> None:
    write(root, "sys/class/dmi/id/bios_vendor", "Dell Inc.")
    write(root, "sys/class/dmi/id/bios_version", "1.9.2")
    write(root, "sys/class/dmi/id/product_name", "PowerEdge R650")
    for name, rev in [("nvme0", "GDC5602Q"), ("nvme1", "1.0")]:
        write(root, f"sys/class/nvme/{name}/model", "Dell Ent NVMe P5600")
        write(root, f"sys/class/nvme/{name}/firmware_rev", rev)
    write(root, "sys/block/sda/device/rev", "DL63")
    write(root, "sys/block/sda/device/model", "ST4000NM000A")
    write(root, "sys/block/sda/device/vendor", "ATA")
    write(root, "sys/class/net/eno1/address", "b4:96:91:aa:00:01")
    (root / "sys/class/net/eno1/device").mkdir(parents=True)
    if settings:
        write(
            root,
            "sys/class/firmware-attributes/dell-wmi-sysman/attributes/SriovGlobalEnable/current_value",
            "Disabled",
        )


def runner(oacs_nvme0: int, oacs_nvme1: int) -> FakeRunner:
    return FakeRunner(
        {
            ("nvme", "id-ctrl", "/dev/nvme0"): ok(json.dumps({"oacs": oacs_nvme0})),
            ("nvme", "id-ctrl", "/dev/nvme1"): ok(json.dumps({"oacs": oacs_nvme1})),
            ("ethtool", "-i", "eno1"): ok(ETHTOOL_I),
            ("nvme", "fw-download"): ok(),
            ("nvme", "fw-commit"): ok(),
        }
    )


def firmware(root: Path, fake: FakeRunner) -> LinuxFirmware:
    return LinuxFirmware(fake, LinuxInventory(root, no_disks), root)


def test_components_with_versions_and_honest_updatability(tmp_path: Path) -> None:
    machine(tmp_path)
    found = {c.id: c for c in asyncio.run(firmware(tmp_path, runner(0x17, 0x0A)).firmware_components())}
    assert set(found) == {"bios", "nvme0", "nvme1", "sda", "eno1"}
    assert (found["bios"].version, found["bios"].updatable) == ("1.9.2", False)
    assert (found["nvme0"].version, found["nvme0"].updatable) == ("GDC5602Q", True)
    assert found["nvme1"].updatable is False
    assert "OACS bit 2" in (found["nvme1"].unsupported_reason or "")
    assert (found["sda"].version, found["sda"].model) == ("DL63", "ST4000NM000A")
    assert found["eno1"].version == "4.20 0x80017785 1.3346.0"


def test_nvme_update_downloads_then_commits_for_next_reset(tmp_path: Path) -> None:
    machine(tmp_path)
    fake = runner(0x17, 0x0A)
    steps: list[tuple[float, float]] = []
    outcome = asyncio.run(
        firmware(tmp_path, fake).apply_firmware(
            "nvme0", "/tmp/fw.bin", progress=lambda d, t: steps.append((d, t))
        )
    )
    assert outcome.applied and outcome.reboot_required
    flashed = [c for c in fake.calls if c[1] in ("fw-download", "fw-commit")]
    assert flashed == [
        ("nvme", "fw-download", "/dev/nvme0", "--fw=/tmp/fw.bin"),
        ("nvme", "fw-commit", "/dev/nvme0", "--slot=0", "--action=1"),
    ]
    assert steps[-1] == (2, 2)


@pytest.mark.parametrize("component", ["nvme1", "bios", "sda", "eno1"])
def test_what_cannot_be_updated_is_refused_not_faked(tmp_path: Path, component: str) -> None:
    machine(tmp_path)
    fake = runner(0x17, 0x0A)
    with pytest.raises(Unsupported):
        asyncio.run(
            firmware(tmp_path, fake).apply_firmware(component, "/tmp/fw.bin", progress=lambda d, t: None)
        )
    assert not [c for c in fake.calls if c[1] in ("fw-download", "fw-commit")]


def test_bios_settings_through_firmware_attributes(tmp_path: Path) -> None:
    machine(tmp_path, settings=True)
    fw = firmware(tmp_path, runner(0, 0))
    assert asyncio.run(fw.bios_settings()) == {"SriovGlobalEnable": "Disabled"}
    assert asyncio.run(fw.apply_bios_settings({"SriovGlobalEnable": True})) is True
    assert asyncio.run(fw.bios_settings()) == {"SriovGlobalEnable": "Enabled"}
    with pytest.raises(Unsupported, match="NoSuchSetting"):
        asyncio.run(fw.apply_bios_settings({"NoSuchSetting": 1}))


def test_a_machine_without_settings_interface_says_so(tmp_path: Path) -> None:
    machine(tmp_path)
    with pytest.raises(Unsupported, match="firmware-attributes"):
        asyncio.run(firmware(tmp_path, runner(0, 0)).apply_bios_settings({"Anything": "x"}))


def test_parse_ethtool_driver() -> None:
    assert parse_ethtool_driver(ETHTOOL_I)["firmware-version"] == "4.20 0x80017785 1.3346.0"
