"""ATA security steps against a fake drive behind hdparm: states are re-read, exit codes never trusted."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from teeth_agent.backend.errors import (
    DeviceRefused,
    DeviceStateError,
    ToolError,
    Unsupported,
    VerificationFailed,
)
from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.exec import FakeRunner, Result, ok
from teeth_agent.backend.types import AtaSecurity

_FLAGS = (("supported", "supported"), ("enabled", "enabled"), ("locked", "locked"), ("frozen", "frozen"),
          ("count_expired", "expired: security count"),
          ("enhanced_erase_supported", "supported: enhanced erase"))


def render_hdparm(state: AtaSecurity) -> str:
    """hdparm -I text for a state, in the layout of identify.c (see tests/data/hdparm_I_*.txt)."""
    lines = ["", "/dev/sdx:", "", "ATA device, with non-removable media", "Security: "]
    lines += [f"\t{'' if getattr(state, attr) else 'not'}\t{label}" for attr, label in _FLAGS]
    lines.append(f"\t{state.erase_minutes}min for SECURITY ERASE UNIT. "
                 f"{state.enhanced_erase_minutes}min for ENHANCED SECURITY ERASE UNIT.")
    return "\n".join([*lines, "Checksum: correct", ""])


@dataclass
class FakeDrive:
    """The ATA security state machine as a drive runs it; `lies` makes it answer 0 and do nothing."""

    state: AtaSecurity
    password: str | None = None
    lies: bool = False
    erased: bool = False

    def __call__(self, argv: tuple[str, ...], data: bytes | None) -> Result:
        if argv[1] == "-I":
            return ok(render_hdparm(self.state))
        command, password = argv[3], argv[4]
        if self.lies:
            return ok(f'security_password: "{password}"\n')  # hdparm echoes the password on stdout
        if self.state.frozen:
            return Result("", "SECURITY_SET_PASS: Input/output error", 5)
        s = self.state
        if command == "--security-set-pass" and not s.locked:
            self.password, self.state = password, replace(s, enabled=True)
        elif command == "--security-unlock" and password == self.password:
            self.state = replace(s, locked=False)
        elif command == "--security-disable" and password == self.password and not s.locked:
            self.password, self.state = None, replace(s, enabled=False)
        elif command.startswith("--security-erase") and password == self.password:
            self.password, self.erased = None, True
            self.state = replace(s, enabled=False, locked=False)
        return ok()


SUPPORTED = AtaSecurity(supported=True, enhanced_erase_supported=True, erase_minutes=2,
                        enhanced_erase_minutes=4)


def backend_for(tmp_path: Path, drive: FakeDrive) -> tuple[LinuxBackend, str, FakeRunner]:
    disk = tmp_path / "sdx"
    disk.touch()
    runner = FakeRunner({("hdparm",): drive})
    return LinuxBackend(only_devices=[str(disk)], runner=runner), str(disk), runner


async def test_full_erase_sequence_checks_each_state(tmp_path: Path) -> None:
    drive = FakeDrive(SUPPORTED)
    backend, disk, runner = backend_for(tmp_path, drive)
    await backend.ata_set_password(disk, "p")
    assert (await backend.ata_security(disk)) == replace(SUPPORTED, enabled=True)
    ticks: list[tuple[float, float]] = []
    await backend.ata_erase(disk, "p", enhanced=True, progress=lambda d, t: ticks.append((d, t)))
    assert drive.erased and not drive.state.enabled
    assert ticks[-1] == (240.0, 240.0)  # the drive's own estimate: 4 minutes
    assert ("hdparm", "--user-master", "u", "--security-erase-enhanced", "p", disk) in runner.calls


async def test_controller_that_answers_zero_without_acting_is_caught(tmp_path: Path) -> None:
    backend, disk, _ = backend_for(tmp_path, FakeDrive(SUPPORTED, lies=True))
    with pytest.raises(VerificationFailed, match=r"set-pass \(hdparm exit 0") as info:
        await backend.ata_set_password(disk, "Zz9-secret")
    assert "Zz9-secret" not in str(info.value)


async def test_frozen_drive_is_refused_before_any_command(tmp_path: Path) -> None:
    backend, disk, runner = backend_for(tmp_path, FakeDrive(replace(SUPPORTED, frozen=True)))
    with pytest.raises(DeviceStateError, match="frozen"):
        await backend.ata_set_password(disk, "p")
    assert all(call[1] == "-I" for call in runner.calls)


async def test_unlock_with_the_wrong_password_is_detected(tmp_path: Path) -> None:
    drive = FakeDrive(replace(SUPPORTED, enabled=True, locked=True), password="right")
    backend, disk, _ = backend_for(tmp_path, drive)
    with pytest.raises(VerificationFailed, match="unlock") as info:
        await backend.ata_unlock(disk, "Xq7-not-it")
    assert "Xq7-not-it" not in str(info.value)  # the password never lands in an error message
    await backend.ata_unlock(disk, "right")
    assert not drive.state.locked


async def test_disable_leaves_security_off(tmp_path: Path) -> None:
    drive = FakeDrive(replace(SUPPORTED, enabled=True), password="p")
    backend, disk, _ = backend_for(tmp_path, drive)
    await backend.ata_disable_password(disk, "p")
    assert not drive.state.enabled


async def test_erase_without_password_or_enhanced_support(tmp_path: Path) -> None:
    backend, disk, _ = backend_for(tmp_path, FakeDrive(replace(SUPPORTED, enhanced_erase_supported=False)))
    with pytest.raises(Unsupported, match="ENHANCED"):
        await backend.ata_erase(disk, "p", enhanced=True, progress=lambda d, t: None)
    with pytest.raises(DeviceStateError, match="no password"):
        await backend.ata_erase(disk, "p", enhanced=False, progress=lambda d, t: None)


async def test_erase_that_leaves_security_enabled_fails(tmp_path: Path) -> None:
    drive = FakeDrive(replace(SUPPORTED, enabled=True), password="p")
    backend, disk, _ = backend_for(tmp_path, drive)
    drive.lies = True
    with pytest.raises(VerificationFailed):
        await backend.ata_erase(disk, "p", enhanced=False, progress=lambda d, t: None)


async def test_drive_without_security_section(tmp_path: Path) -> None:
    disk = tmp_path / "sdx"
    disk.touch()
    backend = LinuxBackend(only_devices=[str(disk)], runner=FakeRunner({("hdparm",): ok("\n/dev/sdx:\n")}))
    assert await backend.ata_security(str(disk)) is None
    with pytest.raises(Unsupported):
        await backend.ata_set_password(str(disk), "p")


async def test_path_outside_allowlist_never_reaches_a_tool(tmp_path: Path) -> None:
    backend, _, runner = backend_for(tmp_path, FakeDrive(SUPPORTED))
    other = tmp_path / "sdy"
    other.touch()
    with pytest.raises(DeviceRefused):
        await backend.ata_set_password(str(other), "p")
    assert runner.calls == []


async def test_a_hung_erase_is_reported_without_the_password(tmp_path: Path) -> None:
    drive = FakeDrive(replace(SUPPORTED, enabled=True), password="Pw-4711")

    def hangs(argv: tuple[str, ...], data: bytes | None) -> Result:
        if argv[1] == "-I":
            return drive(argv, data)
        raise ToolError(list(argv), None, "timed out after 1080s")

    disk = tmp_path / "sdx"
    disk.touch()
    backend = LinuxBackend(only_devices=[str(disk)], runner=FakeRunner({("hdparm",): hangs}))
    with pytest.raises(ToolError) as info:
        await backend.ata_erase(str(disk), "Pw-4711", enhanced=False, progress=lambda d, t: None)
    assert "Pw-4711" not in info.value.argv and "timed out" in info.value.stderr
    assert info.value.__cause__ is None and info.value.__suppress_context__
