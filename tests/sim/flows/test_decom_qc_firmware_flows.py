"""decom.qc and decom.firmware_secure on simulated machines, including a failed flash."""

from __future__ import annotations

from typing import Any

import pytest
from decom_flow_helpers import firmware_server, run, sim

from simulator.machine.faults import Fault
from teeth_agent.errors import InvalidParams

QC = "decom.qc"
FW = "decom.firmware_secure"

R650 = {
    "system": {"manufacturer": "Dell Inc.", "product": "PowerEdge R650"},
    "cpu": {"model": "Xeon Gold 6338", "count": 2, "threads": 128},
    "memory_mib": {"min": 262144},
    "disks": [{"type": "nvme", "size_bytes": 1_600_000_000_000, "count": 2}],
    "nics": {"count": 2},
    "firmware": {"bios": "1.8.2"},
    "boot_mode": "uefi",
    "secure_boot": True,
}


async def test_qc_passes_a_matching_chassis_with_burn_in() -> None:
    be = sim("1u-nvme")
    progress: list[tuple[float, float]] = []
    burnin = {"disk_read": {"samples": 6, "max_seconds": 10**9}}
    result = await run(be, QC, {"spec": R650, "burnin": burnin}, progress)
    assert result["passed"], result["failed"]
    reads = [c for c in result["checks"] if c["name"].startswith("burnin.")]
    assert [c["actual"]["chunks_read"] for c in reads] == [6, 6]
    assert progress[-1] == (12, 12)
    assert result["inventory"]["dmi"]["product"] == "PowerEdge R650"


async def test_qc_names_each_mismatching_component() -> None:
    be = sim("storage-12sata")
    result = await run(be, QC, {"spec": R650})
    assert set(result["failed"]) == {
        "system.manufacturer",
        "system.product",
        "cpu.model",
        "cpu.threads",
        "memory_mib",
        "disks[0]",
        "disks.unexpected",
        "firmware.bios",
        "secure_boot",
    }
    disks = next(c for c in result["checks"] if c["name"] == "disks[0]")
    assert disks["actual"]["count"] == 0


async def test_qc_burn_in_read_error_fails_that_disk() -> None:
    be = sim("1u-nvme", Fault("io_error", disk="nvme1n1", offset=0, length=1 << 20, op="read"))
    burnin = {"disk_read": {"samples": 4, "max_seconds": 10**9}}
    result = await run(be, QC, {"spec": {}, "burnin": burnin})
    assert result["failed"] == ["burnin.disk_read./dev/nvme1n1"]


async def test_qc_spec_with_wrong_types_is_invalid_params() -> None:
    with pytest.raises(InvalidParams) as err:
        await run(sim("vm"), QC, {"spec": {"disks": [{"type": "nvme", "size_bytes": "1T", "count": 1}]}})
    assert err.value.field == "spec.disks[0].size_bytes"


def manifest(refs: dict[str, dict[str, Any]], *entries: tuple[str, dict[str, str], str, str]) -> list[Any]:
    return [{"component": c, "match": m, "version": v, "image": refs[name]} for c, m, v, name in entries]


async def test_storage_box_firmware_updated_staged_and_failed_flash_reported() -> None:
    be = sim("storage-12sata")
    images = {"bios.bin": ("bios", "3.5"), "bmc.bin": ("bmc", "1.74.1"), "disk.bin": ("disk", "SN04")}
    async with firmware_server(images) as refs:
        params = {
            "firmware": manifest(
                refs,
                ("bios", {"model": "X11DPH-T"}, "3.5", "bios.bin"),
                ("bmc", {}, "1.74.1", "bmc.bin"),
                ("disk", {"model": "ST8000NM000A-2KE101"}, "SN04", "disk.bin"),
            ),
            "settings": {"bios": {"SR-IOV Support": "Enabled"}},
            "secure_boot": True,
        }
        result = await run(be, FW, params)
    comps = {c["id"]: c for c in result["components"]}
    assert comps["bios"]["outcome"] == "pending_reboot" and comps["bios"]["after"] == "3.4"
    assert comps["bmc"]["outcome"] == "updated" and comps["bmc"]["after"] == "1.74.1"
    assert comps["sdd"]["outcome"] == "failed" and "tool_error" in comps["sdd"]["message"]
    assert result["settings"][0]["outcome"] == "pending_reboot"
    assert result["secure_boot"]["outcome"] == "pending_reboot"
    assert result["reboot_required"] and not result["passed"]


async def test_injected_flash_failure_fails_only_that_component() -> None:
    be = sim("1u-nvme", Fault("flash_fail", component="bmc"))
    images = {"bmc.bin": ("bmc", "7.00.00.00"), "nvme.bin": ("disk", "1.2.0")}
    async with firmware_server(images) as refs:
        params = {
            "firmware": manifest(
                refs, ("bmc", {}, "7.00.00.00", "bmc.bin"), ("disk", {}, "1.2.0", "nvme.bin")
            )
        }
        result = await run(be, FW, params)
    comps = {c["id"]: c for c in result["components"]}
    assert comps["bmc"]["outcome"] == "failed" and comps["bmc"]["after"] == "6.10.30.00"
    assert {comps[i]["outcome"] for i in comps if i.startswith("nvme")} == {"updated"}
    assert not result["passed"]


async def test_virtual_hardware_is_reported_unsupported_not_faked() -> None:
    be = sim("vm")
    async with firmware_server({"ovmf.bin": ("bios", "1.0.0")}) as refs:
        result = await run(be, FW, {"firmware": manifest(refs, ("bios", {}, "1.0.0", "ovmf.bin"))})
    bios = result["components"][0]
    assert bios["outcome"] == "unsupported" and bios["after"] == "0.0.0"
    assert "virtual hardware" in bios["message"] and not result["passed"]


async def test_bad_checksum_never_reaches_the_flash() -> None:
    be = sim("1u-nvme")
    async with firmware_server({"bmc.bin": ("bmc", "7.00.00.00")}) as refs:
        image = {"urls": refs["bmc.bin"]["urls"], "hashes": {"sha256": "0" * 64}}
        result = await run(
            be, FW, {"firmware": [{"component": "bmc", "version": "7.00.00.00", "image": image}]}
        )
    bmc = next(c for c in result["components"] if c["id"] == "bmc")
    assert bmc["outcome"] == "failed" and "sha256 mismatch" in bmc["message"]
    assert (await be.firmware_components())[1].version == "6.10.30.00"


async def test_manifest_with_a_malformed_checksum_is_invalid_params() -> None:
    image = {"urls": ["http://127.0.0.1:1/x"], "hashes": {"sha256": "not-hex"}}
    with pytest.raises(InvalidParams) as err:
        await run(sim("1u-nvme"), FW, {"firmware": [{"component": "bmc", "version": "1", "image": image}]})
    assert err.value.field == "firmware[0].image.hashes.sha256"


async def test_staged_bios_update_and_settings_hold_after_reboot() -> None:
    be = sim("1u-nvme")
    async with firmware_server({"bios.bin": ("bios", "1.9.0")}) as refs:
        params = {
            "firmware": manifest(refs, ("bios", {"model": "PowerEdge R650"}, "1.9.0", "bios.bin")),
            "secure_boot": False,
        }
        first = await run(be, FW, params)
        assert first["reboot_required"] and first["passed"]
        assert first["components"][0]["outcome"] == "pending_reboot"
        await be.reboot()
        second = await run(be, FW, params)
    bios = next(c for c in second["components"] if c["id"] == "bios")
    assert bios["outcome"] == "up_to_date" and bios["before"] == "1.9.0"
    assert second["secure_boot"]["outcome"] == "already" and not second["reboot_required"]
