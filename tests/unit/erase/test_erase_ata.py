"""The ATA procedure trusts only re-read state, and always leaves the drive unlocked and disabled."""

from __future__ import annotations

import asyncio

import pytest
from erase_fakes import FakeBackend, FakeDisk, contents, sata
from hypothesis import given, settings
from hypothesis import strategies as st

from teeth_agent.backend.api import no_progress
from teeth_agent.backend.errors import DeviceStateError
from teeth_agent.erase.ata_procedure import AtaEraseFailed, ata_secure_erase, release_password


def _state(d: FakeDisk) -> tuple[bool, bool]:
    assert d.ata is not None
    return d.ata.enabled, d.ata.locked


async def test_successful_erase_zeroes_and_ends_with_security_disabled() -> None:
    d = sata("/dev/sda")
    be = FakeBackend.of(d)
    await ata_secure_erase(be, "/dev/sda", enhanced=True, progress=no_progress)  # type: ignore[arg-type]
    assert _state(d) == (False, False)
    assert contents(d).count(0) == d.device.size


async def test_set_password_that_silently_did_nothing_is_caught_by_re_reading() -> None:
    d = sata("/dev/sda")
    d.silent.add("ata_set_password")
    be = FakeBackend.of(d)
    with pytest.raises(AtaEraseFailed) as err:
        await ata_secure_erase(be, "/dev/sda", enhanced=False, progress=no_progress)  # type: ignore[arg-type]
    assert err.value.step == "set-password" and err.value.restored
    assert ("ata_erase", "/dev/sda") not in be.calls
    assert _state(d) == (False, False)


async def test_erase_that_returns_success_but_aborted_is_a_failure_and_the_password_is_removed() -> None:
    d = sata("/dev/sda")
    d.silent.add("ata_erase")
    be = FakeBackend.of(d)
    with pytest.raises(AtaEraseFailed) as err:
        await ata_secure_erase(be, "/dev/sda", enhanced=True, progress=no_progress)  # type: ignore[arg-type]
    assert "erase" in err.value.step and "still enabled" in str(err.value)
    assert err.value.restored and _state(d) == (False, False)


async def test_failed_erase_that_left_the_drive_locked_is_unlocked_and_disabled() -> None:
    d = sata("/dev/sda")
    d.fail.add("ata_erase")
    d.lock_on_failed_erase = True
    be = FakeBackend.of(d)
    with pytest.raises(AtaEraseFailed) as err:
        await ata_secure_erase(be, "/dev/sda", enhanced=False, progress=no_progress)  # type: ignore[arg-type]
    assert err.value.restored and "unlocked with security disabled" in str(err.value)
    assert ("ata_unlock", "/dev/sda") in be.calls
    assert _state(d) == (False, False)


async def test_frozen_drive_gets_no_security_command_at_all() -> None:
    d = sata("/dev/sda", frozen=True)
    be = FakeBackend.of(d)
    with pytest.raises(DeviceStateError, match="frozen"):
        await ata_secure_erase(be, "/dev/sda", enhanced=False, progress=no_progress)  # type: ignore[arg-type]
    assert be.calls == []


async def test_release_with_the_known_password_unlocks_and_disables() -> None:
    d = sata("/dev/sda")
    d.ata = d.ata.__class__(supported=True, enabled=True, locked=True)  # type: ignore[union-attr]
    d.password = "known"
    be = FakeBackend.of(d)
    await release_password(be, "/dev/sda", "known")  # type: ignore[arg-type]
    assert _state(d) == (False, False)


async def test_release_with_a_wrong_password_fails_and_says_the_drive_is_still_locked() -> None:
    d = sata("/dev/sda")
    d.ata = d.ata.__class__(supported=True, enabled=True, locked=True)  # type: ignore[union-attr]
    d.password = "other"
    be = FakeBackend.of(d)
    with pytest.raises(AtaEraseFailed) as err:
        await release_password(be, "/dev/sda", "known")  # type: ignore[arg-type]
    assert not err.value.restored and "locked=True" in str(err.value)
    assert be.calls.count(("ata_unlock", "/dev/sda")) == 1  # each wrong try burns one of 5 attempts


OPS = ["ata_set_password", "ata_erase", "ata_unlock", "ata_disable_password"]


@settings(deadline=None)
@given(
    fail=st.sets(st.sampled_from(OPS)),
    silent=st.sets(st.sampled_from(OPS)),
    lock_on_failed_erase=st.booleans(),
)
def test_the_procedure_never_lies_about_the_state_it_leaves(
    fail: set[str], silent: set[str], lock_on_failed_erase: bool
) -> None:
    d = sata("/dev/sda")
    d.fail, d.silent, d.lock_on_failed_erase = set(fail), set(silent), lock_on_failed_erase
    be = FakeBackend.of(d)
    try:
        asyncio.run(ata_secure_erase(be, "/dev/sda", enhanced=True, progress=no_progress))  # type: ignore[arg-type]
    except AtaEraseFailed as err:
        assert err.restored == (_state(d) == (False, False))
        if {"ata_unlock", "ata_disable_password"}.isdisjoint(fail | silent):
            assert err.restored  # nothing stops the clean-up: it must have happened
    else:
        assert _state(d) == (False, False) and contents(d).count(0) == d.device.size
