"""write_config_drive on the real Linux backend: a loop device holding a GPT or an MBR image (512-byte
sectors: ISO9660) or a 4K-sector loop device (vfat), in a private /dev; checked from the host through the
backing file: the partition table, the filesystem's type and label, and the files it holds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from standby_configdrive_read import config_drive_files
from standby_images import MIB, payload_disk
from standby_loop_support import NEEDS_ROOT, AttachLoop, in_standby_namespace, ok, probe, stage_files
from standby_tables import read_table
from standby_tenant import PARAMS

from teeth_agent.boot.configdrive import build_files

pytestmark = NEEDS_ROOT
DISK = 64 * MIB
IMAGE = 24 * MIB
def write(loop: Any, params: dict[str, Any], where: Path) -> str:
    where.mkdir()
    files = stage_files(build_files(params), where)
    path: str = ok(in_standby_namespace("write_config_drive", loop, files_dir=files))
    return path


def config_partitions(table: dict[str, Any], backing: Path, sector: int) -> list[dict[str, Any]]:
    """Partitions whose filesystem is labelled config-2 (whatever the case: vfat labels are upper case)."""
    return [p for p in table["partitions"]
            if probe(backing, p["start"] * sector).get("LABEL", "").lower() == "config-2"]


def check_drive(loop: Any, params: dict[str, Any], *, sector: int, label: str, fstype: str) -> dict[str, Any]:
    table = read_table(loop.backing, sector)
    assert table["label"] == label
    (drive,) = config_partitions(table, loop.backing, sector)
    last = max(table["partitions"], key=lambda p: p["start"])
    assert drive == last  # after the image, ending at the end of the disk (less the backup GPT)
    end = (drive["start"] + drive["size"]) * sector
    assert DISK - MIB <= end <= DISK
    if label == "gpt":
        assert table["backup_lba"] == DISK // sector - 1  # the backup header moved to the very end
        assert end <= DISK - 5 * sector
    assert drive["start"] * sector >= IMAGE and drive["start"] * sector % MIB == 0
    if label == "gpt":
        assert drive.get("name") == "config-2"
    fs = probe(loop.backing, drive["start"] * sector)
    assert fs["TYPE"] == fstype, fs
    files, _how = config_drive_files(loop.backing, drive["start"] * sector, drive["size"] * sector, fstype)
    assert json.loads(files["openstack/latest/meta_data.json"]) == params["meta_data"]
    assert files["openstack/latest/user_data"].decode() == params["user_data"]
    assert json.loads(files["openstack/latest/network_data.json"]) == params["network_data"]
    return drive


@pytest.mark.parametrize("label", ["gpt", "dos"])
def test_iso_config_drive_after_the_image(attach_loop: AttachLoop, tmp_path: Path, label: str) -> None:
    image = payload_disk(tmp_path / "image.raw", IMAGE, label=label)
    loop = attach_loop(DISK, image)  # written as an image is, before any backup-GPT repair
    path = write(loop, PARAMS, tmp_path / "cd")
    drive = check_drive(loop, PARAMS, sector=512, label=label, fstype="iso9660")
    assert path == f"{loop.dev}p{drive['number']}"
    data = loop.backing.read_bytes()
    assert data[MIB:IMAGE] == image[MIB:IMAGE]  # the image itself is untouched
    assert data[:446] == image[:446]  # and so is its boot code


@pytest.mark.parametrize("label", ["gpt", "dos"])
def test_rewriting_replaces_the_config_drive(attach_loop: AttachLoop, tmp_path: Path, label: str) -> None:
    loop = attach_loop(DISK, payload_disk(tmp_path / "image.raw", IMAGE, label=label))
    write(loop, PARAMS, tmp_path / "cd1")
    changed = PARAMS | {"meta_data": {"uuid": "second", "hostname": "tenant-2"}, "user_data": "#!/bin/sh\n"}
    write(loop, changed, tmp_path / "cd2")
    table = read_table(loop.backing)
    assert len(table["partitions"]) == 2  # the image's partition and one config drive
    check_drive(loop, changed, sector=512, label=label, fstype="iso9660")


def test_vfat_config_drive_on_a_4k_sector_disk(attach_loop: AttachLoop, tmp_path: Path) -> None:
    loop = attach_loop(DISK, sector_size=4096)
    # The image's table is made through the 4K-sector loop device itself (a file has no sector size).
    script = f"label: gpt\nstart=256, size={(IMAGE - 2 * MIB) // 4096}, type=linux\n"
    subprocess.run(["sfdisk", "-q", loop.dev], input=script, text=True, check=True)
    write(loop, PARAMS, tmp_path / "cd")
    drive = check_drive(loop, PARAMS, sector=4096, label="gpt", fstype="vfat")
    boot_sector = loop.backing.read_bytes()[drive["start"] * 4096:][:512]
    # Linux mounts a FAT only if its logical sectors are no smaller than the disk's.
    assert int.from_bytes(boot_sector[11:13], "little") == 4096


def test_config_drive_over_64_mib_is_refused_before_the_disk_changes(
    attach_loop: AttachLoop, tmp_path: Path
) -> None:
    loop = attach_loop(128 * MIB, payload_disk(tmp_path / "image.raw", IMAGE))
    before = loop.backing.read_bytes()
    big = {"openstack/latest/meta_data.json": b"{}", "openstack/latest/user_data": bytes(65 * MIB)}
    out = in_standby_namespace("write_config_drive", loop, files_dir=stage_files(big, tmp_path / "big"))
    assert out.get("error") == "DeviceStateError" and "limit" in out["message"], out
    assert loop.backing.read_bytes() == before
