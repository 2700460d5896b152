"""The ATA security state machine, driven through the Backend as an erase flow would."""

from __future__ import annotations

import pytest
from sim_helpers import ProgressLog, fast

from simulator.machine.extents import ZERO
from teeth_agent.backend.errors import DeviceIOError, DeviceStateError, ToolError, Unsupported

DATA = "/dev/sdd"


async def test_set_password_then_erase_zeroes_and_disables_security() -> None:
    b = fast("storage-12sata")
    await b.ata_set_password(DATA, "pw")
    assert (await b.ata_security(DATA)) is not None
    assert (await b.ata_security(DATA)).enabled  # type: ignore[union-attr]
    log = ProgressLog()
    await b.ata_erase(DATA, "pw", enhanced=True, progress=log)
    state = await b.ata_security(DATA)
    assert state is not None and not state.enabled and not state.locked
    assert log.calls[-1] == (720 * 60, 720 * 60)
    assert b.machine.disk(DATA).content.is_fill(ZERO)
    assert (await b.refresh_disk(DATA)).fs_signatures == ()


async def test_erase_needs_a_password_and_the_right_one() -> None:
    b = fast("storage-12sata")
    with pytest.raises(ToolError, match="SECURITY_ERASE: Input/output error"):
        await b.ata_erase(DATA, "pw", enhanced=False, progress=ProgressLog())
    await b.ata_set_password(DATA, "pw")
    with pytest.raises(ToolError):
        await b.ata_erase(DATA, "wrong", enhanced=False, progress=ProgressLog())
    assert not b.machine.disk(DATA).content.is_fill(ZERO)


async def test_five_failed_unlocks_expire_the_counter_until_a_power_cycle() -> None:
    b = fast("storage-12sata")
    await b.ata_set_password(DATA, "pw")
    await b.reboot()
    state = await b.ata_security(DATA)
    assert state is not None and state.locked
    handle = await b.open_block(DATA, writable=False)
    with pytest.raises(DeviceIOError):
        await handle.read_at(0, 512)
    for _ in range(5):
        with pytest.raises(ToolError):
            await b.ata_unlock(DATA, "nope")
    assert (await b.ata_security(DATA)).count_expired  # type: ignore[union-attr]
    with pytest.raises(DeviceStateError, match="count expired"):
        await b.ata_unlock(DATA, "pw")
    await b.reboot()
    await b.ata_unlock(DATA, "pw")
    state = await b.ata_security(DATA)
    assert state is not None and not state.locked and state.enabled and not state.count_expired
    await b.ata_disable_password(DATA, "pw")
    assert not (await b.ata_security(DATA)).enabled  # type: ignore[union-attr]


async def test_frozen_drive_refuses_every_security_command() -> None:
    b = fast("storage-12sata")
    frozen = "/dev/sdb"
    assert (await b.ata_security(frozen)).frozen  # type: ignore[union-attr]
    with pytest.raises(DeviceStateError, match="SECURITY_SET_PASS: Input/output error"):
        await b.ata_set_password(frozen, "pw")
    with pytest.raises(DeviceStateError):
        await b.ata_erase(frozen, "pw", enhanced=False, progress=ProgressLog())
    await b.reboot()
    assert (await b.ata_security(frozen)).frozen  # type: ignore[union-attr]


async def test_a_bridge_hides_security_and_swallows_set_password() -> None:
    b = fast("storage-12sata")
    bridged = "/dev/sdc"
    dev = await b.refresh_disk(bridged)
    assert dev.ata_security is None and dev.ata_security_hidden_by_bridge
    await b.ata_set_password(bridged, "pw")  # exits 0, like hdparm through such a bridge
    assert await b.ata_security(bridged) is None
    with pytest.raises(ToolError, match="SG_IO"):
        await b.ata_erase(bridged, "pw", enhanced=False, progress=ProgressLog())


async def test_non_ata_disks_and_missing_enhanced_erase_are_unsupported() -> None:
    with pytest.raises(Unsupported):
        await fast("vm").ata_set_password("/dev/vda", "pw")
    b = fast("storage-12sata")
    await b.ata_set_password("/dev/sdc", "pw")
    with pytest.raises(Unsupported):
        await fast("old-sas").ata_erase("/dev/sda", "pw", enhanced=True, progress=ProgressLog())
