"""NVMe format and sanitize against a fake controller behind nvme-cli."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from teeth_agent.backend.errors import DeviceIOError, Unsupported
from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.exec import FakeRunner, Result, ok

Reader = Callable[[str], str]


@dataclass
class FakeClock:
    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_800_000_000 + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeController:
    """Answers nvme-cli; a sanitize runs for `steps` log reads, then ends in `outcome` (1 ok, 3 failed)."""

    id_ctrl: str
    steps: int = 3
    outcome: int = 1
    sanitize_reads: list[int] = field(default_factory=list)
    running: int | None = None

    def log(self, dev: str) -> str:
        if self.running is None:
            sprog, status = 65535, 0
        elif self.running < self.steps:
            sprog, status = self.running * 65536 // self.steps, 2
            self.running += 1
        else:
            sprog, status = 65535, self.outcome
        sstat = {"global_erased": 0, "no_cmplted_passes": 0, "status": f"({status}) x"}
        body = {"sprog": sprog, "sstat": sstat,
                "time_over_write": 4294967295, "time_block_erase": 90, "time_crypto_erase": 30}
        return json.dumps({dev: body})

    def __call__(self, argv: tuple[str, ...], data: bytes | None) -> Result:
        command = argv[1]
        if command == "id-ctrl":
            return ok(self.id_ctrl)
        if command == "id-ns":
            return ok(json.dumps({"nsze": 1000, "flbas": 0x21}))  # LBA format 1 plus high bits: 0x11
        if command == "sanitize-log":
            return ok(self.log("nvme0n1"))
        if command == "sanitize":
            self.running = 0
            return ok()
        if command == "format":
            return ok("Success formatting namespace:1\n")
        raise AssertionError(f"unexpected {argv}")


def setup(tmp_path: Path, controller: FakeController) -> tuple[LinuxBackend, str, FakeRunner, FakeClock]:
    disk = tmp_path / "nvme0n1"
    disk.touch()
    runner, clock = FakeRunner({("nvme",): controller}), FakeClock()
    return LinuxBackend(only_devices=[str(disk)], runner=runner, clock=clock), str(disk), runner, clock


async def test_crypto_format_keeps_current_lba_format(tmp_path: Path, data: Reader) -> None:
    backend, disk, runner, _ = setup(tmp_path, FakeController(data("nvme_id_ctrl_datacenter.json")))
    await backend.nvme_format(disk, ses=2, progress=lambda d, t: None)
    (call,) = [c for c in runner.calls if c[1] == "format"]
    assert "--ses=2" in call and "--lbaf=17" in call and "--force" in call


async def test_crypto_format_refused_without_crypto_erase(tmp_path: Path, data: Reader) -> None:
    backend, disk, runner, _ = setup(tmp_path, FakeController(data("nvme_id_ctrl_qemu.json")))
    with pytest.raises(Unsupported, match="cryptographic"):
        await backend.nvme_format(disk, ses=2, progress=lambda d, t: None)
    await backend.nvme_format(disk, ses=1, progress=lambda d, t: None)
    assert sum(c[1] == "format" for c in runner.calls) == 1


async def test_bad_ses_is_a_clear_error(tmp_path: Path, data: Reader) -> None:
    backend, disk, _, _ = setup(tmp_path, FakeController(data("nvme_id_ctrl_datacenter.json")))
    with pytest.raises(ValueError, match="secure erase setting"):
        await backend.nvme_format(disk, ses=0, progress=lambda d, t: None)


async def test_sanitize_polls_the_log_and_reports_the_drives_progress(tmp_path: Path, data: Reader) -> None:
    backend, disk, runner, clock = setup(tmp_path, FakeController(data("nvme_id_ctrl_datacenter.json")))
    ticks: list[tuple[float, float]] = []
    await backend.nvme_sanitize(disk, action="block", progress=lambda d, t: ticks.append((d, t)))
    assert ("nvme", "sanitize", disk, "--sanact=2") in runner.calls
    assert [t for _, t in ticks] == [90.0] * len(ticks)  # scaled to the drive's block-erase estimate
    assert [d for d, _ in ticks] == sorted(d for d, _ in ticks) and ticks[-1] == (90.0, 90.0)
    assert clock.now > 0  # waited between polls on the backend's clock


async def test_sanitize_failure_from_the_log(tmp_path: Path, data: Reader) -> None:
    backend, disk, _, _ = setup(tmp_path, FakeController(data("nvme_id_ctrl_datacenter.json"), outcome=3))
    with pytest.raises(DeviceIOError, match="failed"):
        await backend.nvme_sanitize(disk, action="crypto", progress=lambda d, t: None)


async def test_sanitize_action_the_controller_lacks(tmp_path: Path, data: Reader) -> None:
    backend, disk, runner, _ = setup(tmp_path, FakeController(data("nvme_id_ctrl_datacenter.json")))
    with pytest.raises(Unsupported, match="overwrite"):
        await backend.nvme_sanitize(disk, action="overwrite", progress=lambda d, t: None)
    assert not any(c[1] == "sanitize" for c in runner.calls)
