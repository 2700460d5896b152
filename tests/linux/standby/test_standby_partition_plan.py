"""Config-drive placement (pure, no root) for what the loop-device tests found on real tables."""

from __future__ import annotations

import json

from teeth_agent.backend.linux.partitions import parse_sfdisk_json, plan_config_drive

MiB = 1 << 20


def test_gpt_last_usable_sector_bounds_the_config_drive() -> None:
    """sgdisk --move-second-header keeps a 1 MiB gap before the backup entries when the table's first
    usable sector is 2048: the header's last usable sector, not the disk's end, is the limit."""
    text = ('{"partitiontable": {"label": "gpt", "firstlba": 2048, "lastlba": 129024, "sectorsize": 512,'
            ' "partitions": [{"node": "/dev/loop0p1", "start": 2048, "size": 45056, "type": "L"}]}}')
    table = parse_sfdisk_json(text)
    assert table.last_lba == 129024
    start, size = plan_config_drive(table, 64 * MiB, 400_000)
    assert start + size - 1 == 129024 and start * 512 % MiB == 0


def test_mbr_has_no_last_usable_sector() -> None:
    text = ('{"partitiontable": {"label": "dos", "sectorsize": 512,'
            ' "partitions": [{"node": "/dev/loop0p1", "start": 2048, "size": 45056, "type": "83"}]}}')
    table = parse_sfdisk_json(text)
    assert table.last_lba is None
    start, size = plan_config_drive(table, 64 * MiB, 400_000)
    assert start + size == 64 * MiB // 512


def test_logical_partitions_take_no_primary_slot() -> None:
    parts = [{"node": "/dev/sda1", "start": 2048, "size": 2048, "type": "83"},
             {"node": "/dev/sda2", "start": 4096, "size": 40960, "type": "5"},
             {"node": "/dev/sda5", "start": 6144, "size": 8192, "type": "83"},
             {"node": "/dev/sda6", "start": 16384, "size": 8192, "type": "83"},
             {"node": "/dev/sda7", "start": 26624, "size": 8192, "type": "83"}]
    table = parse_sfdisk_json(json.dumps({"partitiontable": {"label": "dos", "sectorsize": 512,
                                                             "partitions": parts}}))
    start, size = plan_config_drive(table, 64 * MiB, 400_000)
    assert start >= 4096 + 40960 and start + size == 64 * MiB // 512
