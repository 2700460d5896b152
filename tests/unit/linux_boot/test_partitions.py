"""Config-drive placement and partition naming, on captured `sfdisk --json` output."""

from __future__ import annotations

from pathlib import Path

import pytest

from teeth_agent.backend.errors import DeviceStateError
from teeth_agent.backend.linux.image_fs import kernel_candidates
from teeth_agent.backend.linux.partitions import (
    ESP_TYPE,
    Partition,
    PartitionTable,
    parse_sfdisk_json,
    partition_path,
    plan_config_drive,
)

DATA = Path(__file__).parents[2] / "data"
MiB = 1 << 20


def test_parses_captured_gpt_table() -> None:
    table = parse_sfdisk_json((DATA / "sfdisk_json_loop_gpt.json").read_text())
    assert table.label == "gpt"
    assert table.sector_size == 512
    assert [(p.number, p.node, p.start, p.size, p.name) for p in table.partitions] == [
        (1, "/dev/loop0p1", 2048, 122880, "root"),
        (2, "/dev/loop0p2", 124928, 137183, "efi"),
    ]
    assert table.partitions[1].type == ESP_TYPE


@pytest.mark.parametrize("text", ["", "{}", '{"partitiontable": 3}', "not json"])
def test_unreadable_table_is_a_device_state_error(text: str) -> None:
    with pytest.raises(DeviceStateError, match="unreadable partition table"):
        parse_sfdisk_json(text)


@pytest.mark.parametrize(
    ("disk", "number", "expected"),
    [("/dev/sda", 2, "/dev/sda2"), ("/dev/nvme0n1", 3, "/dev/nvme0n1p3"), ("/dev/loop7", 1, "/dev/loop7p1")],
)
def test_partition_node_names(disk: str, number: int, expected: str) -> None:
    assert partition_path(disk, number) == expected


def image_table(label: str, image_sectors: int, *, count: int = 1, sector: int = 512) -> PartitionTable:
    parts = tuple(
        Partition(n + 1, f"/dev/sda{n + 1}", 2048 + n * 10, image_sectors if n == 0 else 10, "83", None)
        for n in range(count)
    )
    return PartitionTable(label=label, sector_size=sector, partitions=parts)


@pytest.mark.parametrize("label", ["gpt", "dos"])
def test_config_drive_goes_at_the_aligned_end_and_fits(label: str) -> None:
    disk = 1024 * MiB
    start, size = plan_config_drive(image_table(label, 200_000), disk, 3 * MiB)
    assert start * 512 % MiB == 0
    assert size * 512 >= 3 * MiB
    end = disk // 512 - (33 if label == "gpt" else 0)
    assert start + size == end


def test_config_drive_never_overlaps_the_image() -> None:
    disk = 64 * MiB
    with pytest.raises(DeviceStateError, match="no room"):
        plan_config_drive(image_table("gpt", disk // 512 - 4096), disk, 4 * MiB)


def test_full_mbr_has_no_slot() -> None:
    with pytest.raises(DeviceStateError, match="4 primary partitions"):
        plan_config_drive(image_table("dos", 1000, count=4), 1024 * MiB, MiB)


def test_4k_sector_disks_are_planned_in_4k_sectors() -> None:
    start, size = plan_config_drive(image_table("gpt", 1000, sector=4096), 1024 * MiB, MiB)
    assert start * 4096 % MiB == 0
    assert size * 4096 >= MiB


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/boot/vmlinuz", ("boot/vmlinuz", "vmlinuz")),
        ("/vmlinuz-6.1", ("vmlinuz-6.1", "boot/vmlinuz-6.1")),
    ],
)
def test_kernel_paths_are_tried_on_root_and_boot_partitions(path: str, expected: tuple[str, ...]) -> None:
    assert kernel_candidates(path) == expected
