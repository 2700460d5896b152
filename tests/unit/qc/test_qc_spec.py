"""decom.qc params: a spec with wrong types is InvalidParams naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from teeth_agent.errors import InvalidParams
from teeth_agent.qc.spec import Burnin, DiskSpec, parse_qc_params


def test_full_spec_parses() -> None:
    p = parse_qc_params(
        {
            "task_id": "t",
            "spec": {
                "system": {"manufacturer": "Dell Inc.", "product": "R640"},
                "cpu": {"model": "Xeon Gold 6248", "count": 2},
                "memory_mib": {"min": 380000, "max": 400000},
                "disks": [{"type": "nvme", "size_bytes": 960000000000, "count": 2}],
                "nics": {"count": 2, "min_speed_mbps": 10000},
                "firmware": {"bios": "2.1.0"},
                "boot_mode": "uefi",
                "secure_boot": True,
            },
            "burnin": {"disk_read": {"samples": 4, "max_seconds": 30}},
        }
    )
    assert p.spec.cpu_count == 2 and p.spec.memory_max == 400000
    assert p.spec.disks == (DiskSpec("nvme", 960000000000, 2),)
    assert p.spec.firmware == {"bios": "2.1.0"}
    assert p.burnin == Burnin(samples=4, max_seconds=30.0)


def test_empty_spec_is_valid_and_has_no_burnin() -> None:
    p = parse_qc_params({"spec": {}})
    assert p.spec.disks is None and p.burnin is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "spec"),
        ({"spec": []}, "spec"),
        ({"spec": {"cpu": {"count": "2"}}}, "spec.cpu.count"),
        ({"spec": {"cpu": {"count": True}}}, "spec.cpu.count"),
        ({"spec": {"cpu": {"model": 6248}}}, "spec.cpu.model"),
        ({"spec": {"cpu": "xeon"}}, "spec.cpu"),
        ({"spec": {"memory_mib": {"min": 2.5}}}, "spec.memory_mib.min"),
        ({"spec": {"memory_mib": {"min": 10, "max": 5}}}, "spec.memory_mib.max"),
        ({"spec": {"disks": {"type": "nvme"}}}, "spec.disks"),
        ({"spec": {"disks": ["nvme"]}}, "spec.disks[0]"),
        ({"spec": {"disks": [{"type": "floppy", "size_bytes": 1, "count": 1}]}}, "spec.disks[0].type"),
        ({"spec": {"disks": [{"type": "ssd", "size_bytes": "1T", "count": 1}]}}, "spec.disks[0].size_bytes"),
        ({"spec": {"disks": [{"type": "ssd", "size_bytes": 1}]}}, "spec.disks[0].count"),
        (
            {"spec": {"disks": [{"type": "ssd", "size_bytes": 1, "count": 1, "tolerance_percent": -1}]}},
            "spec.disks[0].tolerance_percent",
        ),
        ({"spec": {"nics": {"count": [2]}}}, "spec.nics.count"),
        ({"spec": {"firmware": {"bios": 2.1}}}, "spec.firmware.bios"),
        ({"spec": {"secure_boot": "yes"}}, "spec.secure_boot"),
        ({"spec": {"boot_mode": "legacy"}}, "spec.boot_mode"),
        ({"spec": {"cpus": {}}}, "spec.cpus"),
        ({"spec": {"system": {"vendor": "Dell"}}}, "spec.system.vendor"),
        ({"spec": {}, "burnin": {"memory": {}}}, "burnin.memory"),
        ({"spec": {}, "burnin": {"disk_read": {"samples": 0}}}, "burnin.disk_read.samples"),
        ({"spec": {}, "burnin": {"disk_read": {"chunk_bytes": 5000}}}, "burnin.disk_read.chunk_bytes"),
        ({"spec": {}, "burnin": {"disk_read": {"max_seconds": "60"}}}, "burnin.disk_read.max_seconds"),
    ],
)
def test_wrong_types_name_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        parse_qc_params(params)
    assert err.value.field == field
