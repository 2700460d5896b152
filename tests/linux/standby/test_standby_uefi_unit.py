"""UEFI grub install (LinuxBoot.install_bootloader) with a table-driven FakeRunner: no root, and never
efibootmgr on the host. (The loop-device tests cannot mount an ESP on a kernel without vfat.)

`mount` answers by giving the root partition its /boot/grub/grub.cfg; every mount point must be
unmounted again; grub-install and efibootmgr are only recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teeth_agent.backend.errors import DeviceStateError
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.bootloader import LinuxBoot
from teeth_agent.backend.linux.exec import FakeRunner, Result, ok
from teeth_agent.backend.types import BootloaderInstall, BootMode

ESP_GUID = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"


def sfdisk_json(disk: str, label: str, esp_type: str | None) -> str:
    parts = [{"node": f"{disk}p2", "start": 206848, "size": 400000, "type": "83"}]
    if esp_type is not None:
        parts.insert(0, {"node": f"{disk}p1", "start": 2048, "size": 204800, "type": esp_type})
    return json.dumps({"partitiontable": {"label": label, "sectorsize": 512, "partitions": parts}})


def fake(disk: str, label: str, esp_type: str | None) -> FakeRunner:
    def mount(argv: tuple[str, ...], _input: bytes | None) -> Result:
        if argv[-2] == f"{disk}p2":
            (Path(argv[-1]) / "boot/grub").mkdir(parents=True)
            (Path(argv[-1]) / "boot/grub/grub.cfg").write_text("menuentry x {}\n")
        return ok()

    return FakeRunner({
        ("partprobe",): ok(), ("udevadm",): ok(),
        ("sfdisk", "--json"): ok(sfdisk_json(disk, label, esp_type)),
        ("mount",): mount, ("umount",): ok(), ("grub-install",): ok(), ("efibootmgr",): ok(),
    })


def a_disk(tmp_path: Path) -> str:
    """Any existing path will do for the allowlist: nothing is opened, every tool is fake."""
    (tmp_path / "disk").touch()
    return str(tmp_path / "disk")


def mount_points(runner: FakeRunner) -> dict[str, str]:
    return {c[-2]: c[-1] for c in runner.calls if c[0] == "mount"}


@pytest.mark.parametrize(("label", "esp_type"), [("gpt", ESP_GUID), ("dos", "ef")])
async def test_uefi_install_uses_the_esp_and_adds_a_boot_entry_for_it(
    tmp_path: Path, label: str, esp_type: str
) -> None:
    disk = a_disk(tmp_path)
    runner = fake(disk, label, esp_type)
    done = await LinuxBoot(runner, DeviceGuard([disk]), tmp_path).install_bootloader(disk, BootMode.UEFI)
    assert done == BootloaderInstall(disk=disk, mode=BootMode.UEFI, efi_entry="tenant")

    where = mount_points(runner)
    (grub,) = [c for c in runner.calls if c[0] == "grub-install"]
    assert "--target=x86_64-efi" in grub and grub[-1] == disk
    assert f"--efi-directory={where[disk + 'p1']}" in grub  # the ESP, mounted
    assert f"--boot-directory={where[disk + 'p2']}/boot" in grub  # the image's own /boot
    assert "--no-nvram" in grub  # the entry is made once, by efibootmgr, for this disk
    (entry,) = [c for c in runner.calls if c[0] == "efibootmgr" and "--create" in c]
    assert entry[entry.index("--disk") + 1] == disk and entry[entry.index("--part") + 1] == "1"
    unmounted = [c[-1] for c in runner.calls if c[0] == "umount"]
    assert where[disk + "p1"] in unmounted and where[disk + "p2"] in unmounted


async def test_uefi_install_without_an_esp_is_a_clear_error(tmp_path: Path) -> None:
    disk = a_disk(tmp_path)
    runner = fake(disk, "gpt", None)
    with pytest.raises(DeviceStateError, match="EFI system partition"):
        await LinuxBoot(runner, DeviceGuard([disk]), tmp_path).install_bootloader(disk, BootMode.UEFI)
    assert not [c for c in runner.calls if c[0] in ("grub-install", "efibootmgr")]
