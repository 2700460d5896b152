"""decom.disk_erase end to end on the fake backend: parallel disks, per-disk failure, certificates."""

from __future__ import annotations

from typing import Any

import pytest
from erase_fakes import FakeBackend, FakeDisk, MiB, contents, disk, make_ctx, nvme, sata, with_gpt

from teeth_agent.backend.types import Transport
from teeth_agent.commands.decom import TASKS
from teeth_agent.erase.certificate import certificate_digest
from teeth_agent.errors import InvalidParams

SPEC = {t.method: t for t in TASKS}["decom.disk_erase"]


def machine() -> FakeBackend:
    return FakeBackend.of(
        nvme("/dev/nvme0n1"),
        sata("/dev/sda"),
        disk("/dev/vda", transport=Transport.VIRTIO),
        disk("/dev/sdz", is_boot_medium=True),
    )


async def erase(be: FakeBackend, progress: list[tuple[float, float]] | None = None, **params: Any) -> Any:
    sink: list[tuple[float, float]] = [] if progress is None else progress
    return await SPEC.run(make_ctx(be, sink), SPEC.validate(params))  # type: ignore[arg-type]


def certs(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["device"]["path"]: c for c in result["certificates"]}


def erased(d: FakeDisk) -> bool:
    return contents(d).count(0x5A) < d.device.size // 100


async def test_every_eligible_disk_is_erased_with_its_strongest_method() -> None:
    be = machine()
    result = await erase(be)
    assert result["passed"] and result["failed"] == []
    c = certs(result)
    assert {p: x["method"] for p, x in c.items()} == {
        "/dev/nvme0n1": "nvme_crypto_format",
        "/dev/sda": "ata_enhanced_erase",
        "/dev/vda": "overwrite",
    }
    assert all(erased(be.disks[p]) for p in c)
    assert all(x["digest"] == certificate_digest(x) for x in c.values())
    assert all(x["verification"]["passed"] for x in c.values())
    assert not be.touched("/dev/sdz")
    assert result["skipped"][0]["reason"] == "device is the medium the agent booted from"


async def test_a_lying_disk_is_failed_by_verification_and_the_others_pass() -> None:
    be = machine()
    be.disks["/dev/nvme0n1"].lies = True
    result = await erase(be)
    c = certs(result)
    assert not result["passed"] and result["failed"] == ["/dev/nvme0n1"]
    bad = c["/dev/nvme0n1"]
    assert bad["outcome"] == "failed" and "verification failed" in bad["error"]
    assert not bad["verification"]["passed"] and bad["verification"]["failures"]
    assert c["/dev/sda"]["outcome"] == c["/dev/vda"]["outcome"] == "erased"


async def test_a_disk_failing_mid_erase_fails_alone_and_its_certificate_says_so() -> None:
    be = machine()
    be.disks["/dev/vda"].fail.add("overwrite")
    result = await erase(be)
    c = certs(result)
    assert c["/dev/vda"]["outcome"] == "failed" and "io_error" in c["/dev/vda"]["error"]
    assert c["/dev/vda"]["digest"] == certificate_digest(c["/dev/vda"])
    assert erased(be.disks["/dev/sda"]) and erased(be.disks["/dev/nvme0n1"])
    assert result["erased"] == ["/dev/nvme0n1", "/dev/sda"]


async def test_frozen_drive_falls_back_and_its_certificate_says_frozen() -> None:
    be = FakeBackend.of(sata("/dev/sda", frozen=True))
    c = certs(await erase(be))["/dev/sda"]
    assert c["ata_frozen"] and c["method"] == "overwrite" and c["outcome"] == "erased"
    assert any("frozen" in s["reason"] for s in c["skipped_methods"])
    assert not any(op.startswith("ata_") for op, _ in be.calls)


async def test_dry_run_returns_the_plan_and_touches_nothing() -> None:
    be = machine()
    result = await erase(be, dry_run=True)
    assert result["dry_run"] and be.calls == []
    assert [d["action"] for d in result["plan"]["disks"]] == ["erase", "erase", "skip", "erase"]


async def test_unknown_device_is_invalid_params_before_anything_is_touched() -> None:
    be = machine()
    with pytest.raises(InvalidParams) as err:
        await erase(be, devices=["/dev/sda", "/dev/nope"])
    assert err.value.field == "devices" and be.calls == []


async def test_named_guarded_disk_is_refused_and_fails_the_task_without_being_touched() -> None:
    be = machine()
    result = await erase(be, devices=["/dev/sdz", "/dev/vda"])
    c = certs(result)
    assert c["/dev/sdz"]["outcome"] == "refused" and "booted" in c["/dev/sdz"]["error"]
    assert not result["passed"] and not be.touched("/dev/sdz")
    assert not be.touched("/dev/sda") and not be.touched("/dev/nvme0n1")


async def test_concurrency_is_bounded() -> None:
    be = FakeBackend.of(*[disk(f"/dev/vd{c}") for c in "abcdef"])
    result = await erase(be, concurrency=2, verify="none")
    assert result["passed"] and be.max_active == 2


async def test_progress_never_goes_backwards_and_ends_complete() -> None:
    be = machine()
    seen: list[tuple[float, float]] = []
    await erase(be, progress=seen, verify="full")
    fractions = [d / t for d, t in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert len({t for _, t in seen}) == 1


async def test_quick_mode_wipes_signatures_only() -> None:
    d = with_gpt(disk("/dev/vda", fs_signatures=("gpt", "ext4")))
    be = FakeBackend.of(d)
    c = certs(await erase(be, mode="quick"))["/dev/vda"]
    assert c["method"] == "wipe_signatures" and c["outcome"] == "erased"
    assert c["details"]["signatures_found"] == ["gpt", "ext4"]
    assert c["verification"] == {
        "mode": "signatures",
        "passed": True,
        "signatures_left": [],
        "gpt_headers_left": [],
    }
    assert contents(d)[4096:-4096].count(0x5A) == d.device.size - 8192  # data left in place: metadata only


async def test_quick_mode_catches_a_backup_gpt_the_wiper_forgot() -> None:
    d = with_gpt(disk("/dev/vda", fs_signatures=("gpt",)))
    d.keeps_backup_gpt = True
    be = FakeBackend.of(d)
    c = certs(await erase(be, mode="quick"))["/dev/vda"]
    assert c["outcome"] == "failed" and "verification failed" in c["error"]
    assert c["verification"]["gpt_headers_left"] == [d.device.size - 512]


async def test_locked_drive_is_unlocked_with_the_known_password_then_erased() -> None:
    d = sata("/dev/sda")
    d.ata = d.ata.__class__(supported=True, enabled=True, locked=True, enhanced_erase_supported=True)  # type: ignore[union-attr]
    d.password = "fleet-pw"
    be = FakeBackend.of(d)
    c = certs(await erase(be, ata_password="fleet-pw"))["/dev/sda"]
    assert c["outcome"] == "erased" and c["method"] == "ata_enhanced_erase"
    assert d.ata is not None and not d.ata.enabled and not d.ata.locked
    assert "fleet-pw" not in repr(c)


async def test_hot_swapped_disk_is_not_erased() -> None:
    d = disk("/dev/vda", 2 * MiB)
    d.swapped_serial = "OTHER"
    be = FakeBackend.of(d)
    c = certs(await erase(be))["/dev/vda"]
    assert c["outcome"] == "failed" and "identity changed" in c["error"]
    assert not be.touched("/dev/vda")


async def test_method_unsupported_at_run_time_falls_back_and_says_why() -> None:
    d = nvme("/dev/nvme0n1")
    d.unsupported.add("nvme_format")  # both Format NVM variants refused; no sanitize on this drive
    be = FakeBackend.of(d)
    c = certs(await erase(be))["/dev/nvme0n1"]
    assert c["outcome"] == "erased" and c["method"] == "overwrite"
    runtime = [s for s in c["skipped_methods"] if "fell back" in s["reason"]]
    assert [s["method"] for s in runtime] == ["nvme_crypto_format", "nvme_format"]
    assert c["digest"] == certificate_digest(c)


async def test_ata_step_that_did_nothing_falls_back_with_the_drive_left_unlocked() -> None:
    d = sata("/dev/sda")
    d.silent.add("ata_set_password")
    be = FakeBackend.of(d)
    c = certs(await erase(be))["/dev/sda"]
    assert c["outcome"] == "erased" and c["method"] == "overwrite"
    assert [s["method"] for s in c["skipped_methods"][-2:]] == ["ata_enhanced_erase", "ata_erase"]
    assert d.ata is not None and not d.ata.enabled and not d.ata.locked


async def test_io_error_during_ata_erase_is_not_papered_over_by_a_fallback() -> None:
    d = sata("/dev/sda")
    d.fail.add("ata_erase")
    be = FakeBackend.of(d)
    c = certs(await erase(be))["/dev/sda"]
    assert c["outcome"] == "failed" and c["method"] == "ata_enhanced_erase"
    assert "unlocked with security disabled" in c["error"]
    assert ("overwrite", "/dev/sda") not in be.calls
