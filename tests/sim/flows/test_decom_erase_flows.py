"""decom.disk_erase on simulated machines, including the lying disk, the frozen drive and I/O faults."""

from __future__ import annotations

from pathlib import Path

import pytest
from decom_flow_helpers import SPEED, by_path, run, sim

from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import Fault
from simulator.machine.profile import load_profile
from teeth_agent.erase.certificate import certificate_digest
from teeth_agent.errors import InvalidParams

ERASE = "decom.disk_erase"


async def test_nvme_node_gets_crypto_format_with_valid_certificates() -> None:
    be = sim("1u-nvme")
    result = await run(be, ERASE, {"task_id": "t"})
    certs = by_path(result)
    assert result["passed"] and set(certs) == {"/dev/nvme0n1", "/dev/nvme1n1"}
    for c in certs.values():
        assert (c["method"], c["outcome"]) == ("nvme_crypto_format", "erased")
        assert c["verification"]["passed"] and c["verification"]["offsets_checked"] > 2
        assert c["digest"] == certificate_digest(c)
        assert c["device"]["serial"] and c["device"]["size"] == 1_600_000_000_000
        assert c["finished_at"] >= c["started_at"]


async def test_storage_box_frozen_and_bridged_drives_fall_back_with_reasons() -> None:
    be = sim("storage-12sata")
    progress: list[tuple[float, float]] = []
    result = await run(be, ERASE, {"concurrency": 16}, progress)
    certs = by_path(result)
    assert result["passed"] and len(certs) == 13
    frozen, bridged = certs["/dev/sdb"], certs["/dev/sdc"]
    assert frozen["ata_frozen"] and frozen["method"] == "overwrite"
    assert any("frozen" in s["reason"] for s in frozen["skipped_methods"] if s["method"] == "ata_erase")
    assert bridged["method"] == "overwrite"
    assert any("bridge" in s["reason"] for s in bridged["skipped_methods"] if s["method"] == "ata_erase")
    assert {certs[f"/dev/sd{c}"]["method"] for c in "defghijklm"} == {"ata_enhanced_erase"}
    fractions = [d / t for d, t in progress]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # Every drive ends with ATA security disabled: nothing left locked behind a password.
    for path in certs:
        sec = await be.ata_security(path)
        assert sec is None or not (sec.enabled or sec.locked)


async def test_lying_disk_is_reported_failed_and_the_other_disk_is_erased() -> None:
    be = sim("1u-nvme", Fault("lying_disk", disk="nvme1n1"))
    result = await run(be, ERASE, {})
    certs = by_path(result)
    assert not result["passed"] and result["failed"] == ["/dev/nvme1n1"]
    liar = certs["/dev/nvme1n1"]
    assert liar["outcome"] == "failed" and "verification failed" in liar["error"]
    assert "canary still present" in liar["verification"]["failures"][0]["problem"]
    assert certs["/dev/nvme0n1"]["outcome"] == "erased"


async def test_lying_disk_is_caught_on_the_overwrite_path_too() -> None:
    be = sim("vm", Fault("lying_disk", disk="vdb"))
    result = await run(be, ERASE, {"methods": ["overwrite"]})
    assert by_path(result)["/dev/vdb"]["outcome"] == "failed"
    assert by_path(result)["/dev/vda"]["outcome"] == "erased"


async def test_injected_frozen_fault_is_reported_and_refused_when_only_ata_is_allowed() -> None:
    be = sim("storage-12sata", Fault("frozen", disk="sdd"))
    result = await run(be, ERASE, {"devices": ["/dev/sdd", "/dev/sde"], "methods": ["ata_enhanced_erase"]})
    certs = by_path(result)
    assert certs["/dev/sdd"]["outcome"] == "refused" and certs["/dev/sdd"]["ata_frozen"]
    reasons = {s["method"]: s["reason"] for s in certs["/dev/sdd"]["skipped_methods"]}
    assert "frozen" in reasons["ata_enhanced_erase"] and reasons["overwrite"] == "not in the allowed methods"
    assert certs["/dev/sde"]["outcome"] == "erased"
    assert result["failed"] == ["/dev/sdd"]
    assert [s["reason"] for s in result["skipped"]].count("not listed in devices") == 11


async def test_disk_failing_mid_erase_fails_alone() -> None:
    fault = Fault("io_error", disk="sdb", offset=100 << 30, length=1 << 20, op="write")
    be = sim("old-sas", fault)
    result = await run(be, ERASE, {})
    certs = by_path(result)
    assert certs["/dev/sdb"]["outcome"] == "failed" and certs["/dev/sdb"]["error"].startswith("io_error")
    assert certs["/dev/sdb"]["digest"] == certificate_digest(certs["/dev/sdb"])
    assert certs["/dev/sda"]["outcome"] == "erased"


async def test_raid_members_are_never_touched() -> None:
    be = sim("old-sas")
    before = [d.fs_signatures for d in await be.list_disks() if d.raid_member]
    result = await run(be, ERASE, {})
    assert {s["reason"] for s in result["skipped"]} == {"device is a member of a RAID array"}
    assert [d.fs_signatures for d in await be.list_disks() if d.raid_member] == before


async def test_dry_run_plans_without_touching_anything() -> None:
    be = sim("storage-12sata")
    result = await run(be, ERASE, {"dry_run": True, "skip": ["/dev/sda"]})
    disks = {d["device"]["path"]: d for d in result["plan"]["disks"]}
    assert disks["/dev/sda"]["action"] == "skip" and disks["/dev/sdb"]["ata_frozen"]
    assert disks["/dev/sdd"]["method"] == "ata_enhanced_erase"
    assert disks["/dev/sdd"]["estimate_seconds"] >= 720 * 60
    assert all(d.fs_signatures == ("xfs",) for d in await be.list_disks() if d.path != "/dev/sda")


async def test_quick_mode_removes_signatures_only() -> None:
    be = sim("vm")
    result = await run(be, ERASE, {"mode": "quick"})
    c = by_path(result)["/dev/vda"]
    assert c["method"] == "wipe_signatures" and c["outcome"] == "erased"
    assert "ext4" in c["details"]["signatures_found"]
    assert all(d.fs_signatures == () for d in await be.list_disks())


async def test_unknown_device_is_invalid_params_and_nothing_changes() -> None:
    be = sim("vm")
    with pytest.raises(InvalidParams) as err:
        await run(be, ERASE, {"devices": ["/dev/vdz"]})
    assert err.value.field == "devices"
    assert [d.fs_signatures for d in await be.list_disks()] == [("gpt", "ext4"), ()]


SHARED_CONTROLLER = """
[dmi]
manufacturer = "Acme"
product = "Two namespaces"
[cpu]
model = "Acme CPU"
cores = 4
[memory]
mib = 8192
[[disks]]
name = "nvme0n1"
transport = "nvme"
model = "Acme NVMe"
size = "10GiB"
[disks.nvme]
crypto_erase = true
crypto_all_namespaces = true
[[disks]]
name = "nvme0n2"
transport = "nvme"
model = "Acme NVMe"
size = "10GiB"
[disks.nvme]
crypto_erase = true
crypto_all_namespaces = true
"""


async def _head(be: SimBackend, path: str) -> bytes:
    handle = await be.open_block(path, writable=False)
    try:
        return await handle.read_at(0, 1 << 20)
    finally:
        await handle.close()


async def test_a_skipped_namespace_survives_its_siblings_erase(tmp_path: Path) -> None:
    path = tmp_path / "shared.toml"
    path.write_text(SHARED_CONTROLLER)
    be = make_backend(load_profile(str(path)), clock=SimClock(speed=SPEED))
    before = await _head(be, "/dev/nvme0n2")
    result = await run(be, ERASE, {"skip": ["/dev/nvme0n2"]})
    c = by_path(result)["/dev/nvme0n1"]
    # The crypto erase would apply to every namespace of nvme0: the per-namespace format is used instead.
    assert c["outcome"] == "erased" and c["method"] == "nvme_format"
    assert "nvme0n2" in c["skipped_methods"][0]["reason"]
    assert await _head(be, "/dev/nvme0n2") == before


LOCKED_DRIVE = """
[dmi]
manufacturer = "Acme"
product = "Locked"
[cpu]
model = "Acme CPU"
cores = 4
[memory]
mib = 8192
[[disks]]
transport = "sata"
model = "Acme SSD"
size = "1GiB"
[disks.ata]
enhanced_erase = true
erase_minutes = 2
password = "vendor-secret"
"""


@pytest.mark.parametrize(
    ("password", "outcome"), [(None, "refused"), ("wrong", "failed"), ("vendor-secret", "erased")]
)
async def test_locked_drive_is_only_unlocked_with_its_known_password(
    tmp_path: Path, password: str | None, outcome: str
) -> None:
    path = tmp_path / "locked.toml"
    path.write_text(LOCKED_DRIVE)
    be = make_backend(load_profile(str(path)), clock=SimClock(speed=SPEED))
    params = {} if password is None else {"ata_password": password}
    c = by_path(await run(be, ERASE, params))["/dev/sda"]
    assert c["outcome"] == outcome
    sec = await be.ata_security("/dev/sda")
    assert sec is not None
    if outcome == "erased":
        assert c["method"] == "ata_enhanced_erase" and not (sec.enabled or sec.locked)
    else:
        assert sec.locked  # never unlocked by guessing
