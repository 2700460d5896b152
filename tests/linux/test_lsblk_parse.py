"""lsblk -J -O -b, blkid, wipefs and sfdisk parsing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from teeth_agent.backend.linux.lsblk import parse_lsblk, parse_lsblk_tree
from teeth_agent.backend.linux.signatures import (
    Partition,
    Signature,
    blkid_signatures,
    parse_blkid_export,
    parse_sfdisk_json,
    parse_wipefs_erased,
    parse_wipefs_json,
)
from teeth_agent.backend.types import Transport

Reader = Callable[[str], str]


def test_captured_loop_device(data: Reader) -> None:
    (disk,) = parse_lsblk(data("lsblk_loop_plain.json"))
    assert (disk.path, disk.size, disk.transport, disk.logical_sector_size) == ("/dev/loop0", 64 << 20,
                                                                              Transport.LOOP, 512)
    assert disk.discard_supported and not disk.read_only and disk.serial is None


def test_captured_loop_with_partitions_lists_them(data: Reader) -> None:
    (entry,) = parse_lsblk_tree(data("lsblk_loop_gpt.json"))
    assert entry.partitions == ("/dev/loop0p1", "/dev/loop0p2")


def test_mixed_host_keeps_whole_disks_only(data: Reader) -> None:
    paths = [d.path for d in parse_lsblk(data("lsblk_host_mixed.json"))]
    assert paths == ["/dev/loop0", "/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd", "/dev/vda", "/dev/nvme0n1"]


def test_identity_and_transport(data: Reader) -> None:
    disks = {d.path: d for d in parse_lsblk(data("lsblk_host_mixed.json"))}
    sda, nvme = disks["/dev/sda"], disks["/dev/nvme0n1"]
    assert (sda.serial, sda.wwn, sda.transport, sda.firmware_version) == (
        "S45PNA0M812345", "0x5002538e3081b2c4", Transport.SATA, "HXT7404Q")
    assert nvme.transport is Transport.NVME
    assert (nvme.logical_sector_size, nvme.physical_sector_size) == (4096, 4096)
    assert disks["/dev/vda"].transport is Transport.VIRTIO
    assert disks["/dev/sdb"].transport is Transport.USB and disks["/dev/sdb"].removable
    assert disks["/dev/sdc"].rotational and disks["/dev/sdc"].physical_sector_size == 4096


def test_guards_raid_clustered_read_only(data: Reader) -> None:
    disks = {d.path: d for d in parse_lsblk(data("lsblk_host_mixed.json"))}
    assert disks["/dev/sda"].raid_member and "linux_raid_member" in disks["/dev/sda"].fs_signatures
    assert "ocfs2" in disks["/dev/sdc"].fs_signatures
    assert "VMFS_volume_member" in disks["/dev/nvme0n1"].fs_signatures
    assert disks["/dev/sdd"].read_only
    assert not disks["/dev/sdc"].raid_member


def test_mount_points_are_collected_from_partitions(data: Reader) -> None:
    tree = {e.device.path: e for e in parse_lsblk_tree(data("lsblk_host_mixed.json"))}
    assert tree["/dev/vda"].mountpoints == ("/",)
    assert tree["/dev/sda"].mountpoints == ()


def test_old_util_linux_string_flags_and_no_path_column(data: Reader) -> None:
    (disk,) = parse_lsblk(data("lsblk_util_linux_2_32.json"))
    assert (disk.path, disk.size, disk.rotational, disk.read_only, disk.physical_sector_size) == (
        "/dev/sda", 240057409536, False, False, 4096)
    assert disk.model == "INTEL SSDSC2BB240G4" and disk.discard_supported


def test_not_lsblk_json_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="blockdevices"):
        parse_lsblk("{}")


def test_blkid_export_blocks(data: Reader) -> None:
    blocks = parse_blkid_export(data("blkid_loop_gpt.txt"))
    assert [b["DEVNAME"] for b in blocks] == ["/dev/loop0", "/dev/loop0p1", "/dev/loop0p2"]
    assert blkid_signatures(data("blkid_loop_gpt.txt")) == ("gpt", "ext4", "vfat")


@pytest.mark.parametrize(("name", "kind"),
                         [("blkid_loop_ocfs2.txt", "ocfs2"), ("blkid_loop_gfs2.txt", "gfs2")])
def test_blkid_clustered_filesystems(data: Reader, name: str, kind: str) -> None:
    assert blkid_signatures(data(name)) == (kind,)


def test_blkid_nothing_found(data: Reader) -> None:
    assert blkid_signatures(data("blkid_loop_plain.txt")) == ()


def test_wipefs_listing(data: Reader) -> None:
    assert parse_wipefs_json(data("wipefs_loop_gpt_p1.json")) == (Signature("ext4", 0x438),)
    assert parse_wipefs_json(data("wipefs_loop_plain.json")) == ()
    assert parse_wipefs_json("") == ()
    kinds = [s.type for s in parse_wipefs_json(data("wipefs_loop_gpt_disk.json"))]
    assert kinds == ["gpt", "gpt", "PMBR"]


def test_wipefs_erase_output_names_both_gpt_copies(data: Reader) -> None:
    erased = parse_wipefs_erased(data("wipefs_a_loop_gpt_disk.txt"))
    assert erased == (Signature("gpt", 0x200), Signature("gpt", 0x7FFFE00), Signature("PMBR", 0x1FE))


def test_sfdisk_partitions_in_bytes(data: Reader) -> None:
    assert parse_sfdisk_json(data("sfdisk_json_loop_gpt.json")) == (
        Partition(1, 2048 * 512, 122880 * 512, "/dev/loop0p1"),
        Partition(2, 124928 * 512, 137183 * 512, "/dev/loop0p2"))
