"""Config-drive placement (pure, no root) for what the loop-device tests found on real tables."""

from __future__ import annotations

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
