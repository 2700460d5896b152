"""Building the tenant image and a config drive with the host's tools, without root."""

import gzip
import subprocess
from pathlib import Path

import pytest

from testbed import bootdisk, configdrive, cpio, tenant_files, tenant_image
from testbed.tenant_image import TenantImageError

pytestmark = pytest.mark.testbed


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tenant_image.TenantImage:
    return tenant_image.ensure(tmp_path_factory.mktemp("tenant") / "image")


def test_missing_kernel_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(TenantImageError, match="linux-image-amd64"):
        tenant_image.find_kernel(tmp_path / "boot", tmp_path / "modules")


def test_disk_has_grub_in_the_mbr_and_a_bootable_partition(built: tenant_image.TenantImage) -> None:
    mbr = built.disk.read_bytes()[:512]
    assert mbr[510:] == b"\x55\xaa"
    assert mbr[:bootdisk.BOOT_CODE_BYTES] == (bootdisk.GRUB_DIR / "boot.img").read_bytes()[:440]
    entry = mbr[446:462]
    assert entry[0] == 0x80 and entry[4] == 0x83
    assert int.from_bytes(entry[8:12], "little") == bootdisk.PART_START // 512
    core = built.disk.read_bytes()[512:1024]
    assert core[:512] != bytes(512)  # grub's diskboot sector follows the MBR


def test_partition_holds_kernel_initrd_and_grub_cfg(built: tenant_image.TenantImage, tmp_path: Path) -> None:
    part = tmp_path / "part.ext4"
    with built.disk.open("rb") as src:
        src.seek(bootdisk.PART_START)
        part.write_bytes(src.read())
    listing = subprocess.run(["debugfs", "-R", "ls -l /boot", str(part)], capture_output=True, text=True,
                             check=True).stdout
    assert "vmlinuz" in listing and "initrd.img" in listing
    cfg = subprocess.run(["debugfs", "-R", "cat /boot/grub/grub.cfg", str(part)], capture_output=True,
                         text=True, check=True).stdout
    assert cfg == tenant_files.grub_cfg()


def test_initramfs_has_busybox_init_and_the_storage_modules(built: tenant_image.TenantImage) -> None:
    members = {name: body for name, _, body in cpio.read(gzip.decompress(built.initrd.read_bytes()))}
    assert tenant_files.BOOT_MARKER.encode() in members["init"]
    assert members["bin/busybox"].startswith(b"\x7fELF")
    names = {Path(n).name for n in members}
    assert {"nvme.ko", "virtio_blk.ko", "ahci.ko", "vfat.ko", "isofs.ko"} <= names
    for name in members:
        if name.endswith(".ko"):
            assert name.removeprefix("lib/modules/") in members["init"].decode()


def test_a_built_image_is_reused(built: tenant_image.TenantImage) -> None:
    before = built.disk.stat().st_mtime_ns
    again = tenant_image.ensure(built.directory)
    assert again == built and again.disk.stat().st_mtime_ns == before


def test_config_drive_carries_the_uuid(tmp_path: Path) -> None:
    image = configdrive.make(tmp_path / "cd.img", "11111111-2222-4333-8444-555555555555")
    meta = subprocess.run(["mtype", "-i", str(image), "::openstack/latest/meta_data.json"],
                          capture_output=True, text=True, check=True).stdout
    assert '"uuid": "11111111-2222-4333-8444-555555555555"' in meta
    label = subprocess.run(["mlabel", "-s", "-i", str(image), "::"], capture_output=True, text=True,
                           check=True).stdout
    assert "config-2" in label
