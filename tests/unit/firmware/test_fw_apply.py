"""decom.firmware_secure on the fake: fetch+verify over 127.0.0.1, flash, re-read, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fw_fakes import FakeFirmware, comp, image_for, make_ctx, serve, sha

from teeth_agent.commands.decom import TASKS
from teeth_agent.firmware.executor import secure_firmware
from teeth_agent.firmware.fetch import fetch_image
from teeth_agent.firmware.manifest import FirmwareImage
from teeth_agent.images.errors import ChecksumMismatch

SPEC = {t.method: t for t in TASKS}["decom.firmware_secure"]


def entry(
    base: str, component: str, version: str, *, digest: str | None = None, name: str | None = None
) -> Any:
    name = name or f"{component}-{version}.bin"
    return {
        "component": component,
        "version": version,
        "image": {"urls": [f"{base}/{name}"], "hashes": {"sha256": digest or sha(image_for(version))}},
    }


async def run(fw: FakeFirmware, tmp_path: Path, params: dict[str, Any]) -> Any:
    manifest = SPEC.validate(params)
    return await secure_firmware(make_ctx(fw, []), manifest, fetch_image, tmp_path)  # type: ignore[arg-type]


def leftovers(path: Path) -> list[Path]:
    return list(path.iterdir())


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in result["components"]}


async def test_updates_are_fetched_verified_flashed_and_confirmed_by_re_reading(tmp_path: Path) -> None:
    fw = FakeFirmware({"bios": comp("bios", "bios", "1.0"), "nvme0": comp("nvme0", "disk", "A1")})
    files = {"bios-1.1.bin": image_for("1.1"), "disk-A2.bin": image_for("A2")}
    async with serve(files) as base:
        result = await run(
            fw, tmp_path, {"firmware": [entry(base, "bios", "1.1"), entry(base, "disk", "A2")]}
        )
    c = by_id(result)
    assert result["passed"] and not result["reboot_required"]
    assert (c["bios"]["before"], c["bios"]["after"], c["bios"]["outcome"]) == ("1.0", "1.1", "updated")
    assert c["nvme0"]["after"] == "A2"
    assert result["secure_boot"] == {
        "before": False,
        "target": None,
        "after": False,
        "message": None,
        "outcome": "unmanaged",
    }
    assert leftovers(tmp_path) == []  # images removed after flashing


async def test_a_bad_checksum_never_reaches_apply(tmp_path: Path) -> None:
    fw = FakeFirmware({"bios": comp("bios", "bios", "1.0")})
    async with serve({"bios-1.1.bin": image_for("1.1") + b"tampered"}) as base:
        result = await run(fw, tmp_path, {"firmware": [entry(base, "bios", "1.1")]})
    bios = by_id(result)["bios"]
    assert fw.flashed == []
    assert bios["outcome"] == "failed" and "sha256 mismatch" in bios["message"]
    assert not result["passed"] and leftovers(tmp_path) == []


async def test_fetch_falls_back_to_the_next_url_and_refuses_a_wrong_image(tmp_path: Path) -> None:
    data = image_for("9")
    async with serve({"good.bin": data}) as base:
        img = FirmwareImage((f"{base}/missing.bin", f"{base}/good.bin"), sha(data))
        path = await fetch_image(img, tmp_path / "x.img")
        assert path.read_bytes() == data
        with pytest.raises(ChecksumMismatch):
            await fetch_image(FirmwareImage((f"{base}/good.bin",), "0" * 64), tmp_path / "y.img")
    assert not (tmp_path / "y.img").exists()


async def test_failed_flash_fails_that_component_only(tmp_path: Path) -> None:
    fw = FakeFirmware(
        {"bios": comp("bios", "bios", "1.0"), "bmc": comp("bmc", "bmc", "5.0")}, {"bmc": "fail"}
    )
    async with serve({"bios-1.1.bin": image_for("1.1"), "bmc-6.0.bin": image_for("6.0")}) as base:
        result = await run(
            fw, tmp_path, {"firmware": [entry(base, "bios", "1.1"), entry(base, "bmc", "6.0")]}
        )
    c = by_id(result)
    assert c["bios"]["outcome"] == "updated"
    assert (
        c["bmc"]["outcome"] == "failed" and "io_error" in c["bmc"]["message"] and c["bmc"]["after"] == "5.0"
    )
    assert not result["passed"]


async def test_flash_that_claims_success_but_changed_nothing_is_failed(tmp_path: Path) -> None:
    fw = FakeFirmware({"bios": comp("bios", "bios", "1.0")}, {"bios": "lie"})
    async with serve({"bios-1.1.bin": image_for("1.1")}) as base:
        result = await run(fw, tmp_path, {"firmware": [entry(base, "bios", "1.1")]})
    assert by_id(result)["bios"]["outcome"] == "failed"
    assert "still 1.0" in by_id(result)["bios"]["message"]


async def test_reboot_pending_update_is_reported_and_requires_reboot(tmp_path: Path) -> None:
    fw = FakeFirmware({"bios": comp("bios", "bios", "1.0")}, {"bios": "on_reboot"})
    async with serve({"bios-1.1.bin": image_for("1.1")}) as base:
        result = await run(fw, tmp_path, {"firmware": [entry(base, "bios", "1.1")]})
    assert by_id(result)["bios"]["outcome"] == "pending_reboot"
    assert result["passed"] and result["reboot_required"]


async def test_unsupported_components_are_reported_not_faked(tmp_path: Path) -> None:
    fw = FakeFirmware(
        {
            "bmc": comp("bmc", "bmc", "5.0", updatable=False, reason="no updater for virtual hardware"),
            "nic0": comp("nic0", "nic", "1.0"),
        },
        {"nic0": "unsupported"},
    )
    async with serve({"bmc-6.0.bin": image_for("6.0"), "nic-2.0.bin": image_for("2.0")}) as base:
        result = await run(fw, tmp_path, {"firmware": [entry(base, "bmc", "6.0"), entry(base, "nic", "2.0")]})
    c = by_id(result)
    assert (c["bmc"]["outcome"], c["bmc"]["message"]) == ("unsupported", "no updater for virtual hardware")
    assert c["nic0"]["outcome"] == "unsupported" and c["nic0"]["after"] == "1.0"
    assert [i for i, _ in fw.flashed] == ["nic0"] and not result["passed"]


async def test_settings_and_secure_boot_are_applied_and_verified(tmp_path: Path) -> None:
    fw = FakeFirmware({}, bios={"Sriov": "Disabled", "Turbo": "Enabled"}, secure=False)
    params = {"settings": {"bios": {"Sriov": "Enabled", "Turbo": "Enabled"}}, "secure_boot": True}
    result = await run(fw, tmp_path, params)
    settings = {s["name"]: s for s in result["settings"]}
    assert settings["Sriov"]["outcome"] == "applied" and settings["Sriov"]["after"] == "Enabled"
    assert settings["Turbo"]["outcome"] == "already"
    assert result["secure_boot"]["outcome"] == "applied" and result["secure_boot"]["after"] is True
    assert result["passed"] and result["reboot_required"]


async def test_settings_that_need_a_reboot_are_pending(tmp_path: Path) -> None:
    fw = FakeFirmware({}, bios={"Sriov": "Disabled"}, bios_on_reboot=True)
    result = await run(fw, tmp_path, {"settings": {"bios": {"Sriov": "Enabled"}}})
    assert result["settings"][0]["outcome"] == "pending_reboot" and result["reboot_required"]


async def test_secure_boot_unreadable_is_unsupported(tmp_path: Path) -> None:
    fw = FakeFirmware({}, secure=None)
    result = await run(fw, tmp_path, {"secure_boot": True})
    assert result["secure_boot"]["outcome"] == "unsupported" and not result["passed"]
