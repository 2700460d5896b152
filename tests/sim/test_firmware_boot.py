"""Firmware update behaviour, BIOS settings, Secure Boot, and the boot paths a run_image takes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import ProgressLog, fast

from simulator.machine.backend import SimBackend
from simulator.machine.image_format import ImageHeader, expected_bytes, firmware_image, iter_image
from teeth_agent.backend.errors import DeviceNotFound, ToolError, Unsupported
from teeth_agent.backend.types import BootMode, KexecTarget

KERNEL = "/boot/vmlinuz-6.1.0-tenant"
INITRD = "/boot/initrd.img-6.1.0-tenant"


def _image(tmp_path: Path, component: str, version: str) -> str:
    path = tmp_path / f"{component}-{version}.bin"
    path.write_bytes(firmware_image(component, version))
    return str(path)


async def _versions(b: SimBackend) -> dict[str, str | None]:
    return {c.id: c.version for c in await b.firmware_components()}


async def test_update_now_on_reboot_fail_and_unsupported(tmp_path: Path) -> None:
    b = fast("1u-nvme")
    now = await b.apply_firmware("bmc", _image(tmp_path, "bmc", "7.0"), progress=ProgressLog())
    assert now.applied and not now.reboot_required and (await _versions(b))["bmc"] == "7.0"
    staged = await b.apply_firmware("bios", _image(tmp_path, "bios", "1.9.0"), progress=ProgressLog())
    assert staged.reboot_required and (await _versions(b))["bios"] == "1.8.2"
    await b.reboot()
    assert (await _versions(b))["bios"] == "1.9.0"
    assert (await b.inventory()).dmi.bios_version == "1.9.0"
    with pytest.raises(ToolError, match="not for bios"):
        await b.apply_firmware("bios", _image(tmp_path, "bmc", "1"), progress=ProgressLog())
    with pytest.raises(DeviceNotFound):
        await b.apply_firmware("raid", _image(tmp_path, "raid", "1"), progress=ProgressLog())
    with pytest.raises(Unsupported, match="virtual hardware"):
        await fast("vm").apply_firmware("bios", _image(tmp_path, "bios", "1"), progress=ProgressLog())
    sata = fast("storage-12sata")
    with pytest.raises(ToolError, match="did not respond"):
        await sata.apply_firmware("sdd", _image(tmp_path, "disk", "SN05"), progress=ProgressLog())
    assert (await sata.refresh_disk("/dev/sdd")).firmware_version == "SN02"


async def test_bios_settings_and_secure_boot_stage_until_reboot() -> None:
    b = fast("1u-nvme")
    assert await b.apply_bios_settings({"SriovGlobalEnable": "Enabled"})
    assert (await b.bios_settings())["SriovGlobalEnable"] == "Disabled"
    assert await b.set_secure_boot(False)
    await b.reboot()
    assert (await b.bios_settings())["SriovGlobalEnable"] == "Enabled"
    assert await b.secure_boot() is False
    with pytest.raises(Unsupported, match="unknown BIOS setting"):
        await b.apply_bios_settings({"Turbo": "On"})
    with pytest.raises(Unsupported, match="legacy BIOS"):
        await fast("old-sas").set_secure_boot(True)


async def _write_image(b: SimBackend, disk: str, header: ImageHeader) -> None:
    handle = await b.open_block(disk, writable=True)
    offset = 0
    for chunk in iter_image(header):
        await handle.write_at(offset, chunk)
        offset += len(chunk)
    await handle.close()


async def test_written_image_is_readable_and_kexec_boots_the_tenant() -> None:
    b = fast("1u-nvme")
    disk = "/dev/nvme1n1"
    header = ImageHeader("tenant-a", 8 << 20)
    await _write_image(b, disk, header)
    handle = await b.open_block(disk, writable=False)
    assert await handle.read_at(5 << 20, 8192) == expected_bytes(header, 5 << 20, 8192)
    assert "menuentry" in (await b.read_grub_config(disk) or "")
    assert (await b.refresh_disk(disk)).fs_signatures == ("gpt", "ext4")
    part = await b.write_config_drive(disk, {"openstack/latest/meta_data.json": b'{"uuid": "i-1"}'})
    assert part == "/dev/nvme1n1p2"
    assert await b.repair_backup_gpt(disk)
    await b.install_bootloader(disk, BootMode.UEFI)
    with pytest.raises(ToolError, match="Nothing has been loaded"):
        await b.kexec_exec()
    with pytest.raises(ToolError, match="No such file"):
        await b.kexec_load(disk, KexecTarget("/boot/missing", None, "ro"))
    await b.kexec_load(disk, KexecTarget(KERNEL, INITRD, "root=LABEL=root ro"))
    ramdisk_boot = await b.boot_id()
    await b.kexec_exec()
    running = b.machine.running
    assert (running.kind, running.via, running.image) == ("tenant", "kexec", "tenant-a")
    assert running.instance_uuid == "i-1"
    assert await b.boot_id() != ramdisk_boot


async def test_reboot_boots_the_installed_tenant_or_falls_back_to_the_ramdisk() -> None:
    b = fast("old-sas")
    await b.reboot()
    assert b.machine.running.kind == "ramdisk"
    with pytest.raises(ToolError, match="grub-install"):
        await b.install_bootloader("/dev/sda", BootMode.BIOS)
    await _write_image(b, "/dev/sda", ImageHeader("tenant-b", 4 << 20))
    with pytest.raises(ToolError, match="EFI directory"):
        await b.install_bootloader("/dev/sda", BootMode.UEFI)
    await b.install_bootloader("/dev/sda", BootMode.BIOS)
    before = await b.boot_id()
    await b.reboot()
    assert (b.machine.running.kind, b.machine.running.kernel) == ("tenant", KERNEL)
    assert await b.boot_id() != before
    await b.wipe_signatures("/dev/sda")
    await b.reboot()
    assert b.machine.running.kind == "ramdisk"
