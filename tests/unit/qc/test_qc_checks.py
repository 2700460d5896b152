"""Pure QC checks: one per component, the failing one named."""

from __future__ import annotations

from typing import Any

from qc_fakes import COMPONENTS, GB, inventory

from teeth_agent.backend.types import BlockDevice, Cpu, Transport
from teeth_agent.qc.checks import Check, run_checks
from teeth_agent.qc.spec import parse_spec

SPEC: dict[str, Any] = {
    "system": {"manufacturer": "dell inc.", "product": "PowerEdge  R640"},
    "cpu": {"model": "Xeon Gold 6248", "count": 2, "threads": 80},
    "memory_mib": {"min": 380_000},
    "disks": [
        {"type": "nvme", "size_bytes": 960 * GB, "count": 2},
        {"type": "hdd", "size_bytes": 4000 * GB, "count": 1},
    ],
    "nics": {"count": 2, "min_speed_mbps": 10000},
    "firmware": {"bios": "2.1.0"},
    "boot_mode": "uefi",
    "secure_boot": True,
}


def checks(spec: dict[str, Any] = SPEC, **inv: Any) -> dict[str, Check]:
    return {c.name: c for c in run_checks(inventory(**inv), COMPONENTS, parse_spec(spec))}


def failing(result: dict[str, Check]) -> list[str]:
    return sorted(name for name, c in result.items() if not c.passed)


def test_matching_chassis_passes_every_check() -> None:
    result = checks()
    assert failing(result) == []
    assert result["disks[0]"].actual == {"count": 2, "devices": ["/dev/nvme0n1", "/dev/nvme1n1"]}
    assert result["disks.unexpected"].actual == []  # the USB stick is not part of the chassis


def test_wrong_cpu_is_named_with_expected_and_actual() -> None:
    result = checks(cpu=Cpu(model="AMD EPYC 7402P 24-Core Processor", cores=24, threads=48, sockets=1))
    assert failing(result) == ["cpu.count", "cpu.model", "cpu.threads"]
    assert result["cpu.count"].expected == 2 and result["cpu.count"].actual == 1


def test_missing_disk_fails_its_entry_and_an_extra_disk_is_unexpected() -> None:
    disks = (
        BlockDevice("/dev/nvme0n1", 960 * GB, transport=Transport.NVME),
        BlockDevice("/dev/sda", 4000 * GB, rotational=True, transport=Transport.SATA),
        BlockDevice("/dev/sdb", 480 * GB, transport=Transport.SATA),
    )
    result = checks(disks=disks)
    assert failing(result) == ["disks.unexpected", "disks[0]"]
    assert result["disks[0]"].actual["count"] == 1
    assert result["disks.unexpected"].actual == ["/dev/sdb (ssd, 480000000000 bytes)"]


def test_disk_size_within_tolerance_matches_and_outside_does_not() -> None:
    near = (BlockDevice("/dev/sda", 4000 * GB - 3 * GB, rotational=True),)
    spec = {"disks": [{"type": "hdd", "size_bytes": 4000 * GB, "count": 1}]}
    assert failing(checks(spec, disks=near)) == []
    assert "disks[0]" in failing(
        checks({"disks": [{**spec["disks"][0], "tolerance_percent": 0.01}]}, disks=near)
    )


def test_memory_out_of_range_and_firmware_version_mismatch() -> None:
    spec = {"memory_mib": {"min": 1, "max": 1000}, "firmware": {"disk": "EDA7602Q", "bmc": "5.0"}}
    result = checks(spec)
    assert failing(result) == ["firmware.bmc", "firmware.nvme1", "memory_mib"]
    assert result["firmware.nvme1"].actual == "EDA7202Q"
    assert result["firmware.bmc"].actual is None


def test_secure_boot_and_boot_mode_checked() -> None:
    result = checks({"boot_mode": "bios", "secure_boot": False})
    assert failing(result) == ["boot_mode", "secure_boot"]


def test_empty_spec_checks_nothing() -> None:
    assert checks({}) == {}
