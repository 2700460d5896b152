"""Injected hardware faults behave like the hardware would, as backend errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import ProgressLog, fast

from simulator.machine.extents import ZERO
from simulator.machine.faults import Fault
from teeth_agent.backend.errors import DeviceIOError, DeviceStateError, ToolError

BAD = 3 << 20


async def test_io_error_at_an_offset_fails_reads_there_only() -> None:
    b = fast("vm", faults=(Fault("io_error", disk="vdb", offset=BAD, length=4096, op="read"),))
    handle = await b.open_block("/dev/vdb", writable=True)
    await handle.read_at(0, 4096)
    await handle.write_at(BAD, bytes(4096))
    with pytest.raises(DeviceIOError) as err:
        await handle.read_at(BAD - 4096, 8192)
    assert err.value.offset == BAD


async def test_overwrite_stops_at_a_bad_sector_with_the_offset() -> None:
    b = fast("vm", faults=(Fault("io_error", disk="vdb", offset=BAD, length=512, op="write"),))
    log = ProgressLog()
    with pytest.raises(DeviceIOError) as err:
        await b.overwrite("/dev/vdb", progress=log)
    assert err.value.offset == BAD
    content = b.machine.disk("/dev/vdb").content
    assert content.is_fill(ZERO, 0, BAD - (BAD % (1 << 20))) or content.is_fill(ZERO, 0, 1 << 20)
    assert not content.is_fill(ZERO)


async def test_a_lying_disk_reports_success_without_erasing() -> None:
    b = fast("1u-nvme", faults=(Fault("lying_disk", disk="nvme0n1"),))
    before = b.machine.disk("/dev/nvme0n1").content.read(0, 8192)
    await b.nvme_format("/dev/nvme0n1", ses=1, progress=ProgressLog())
    await b.write_zeroes("/dev/nvme0n1", progress=ProgressLog())
    assert b.machine.disk("/dev/nvme0n1").content.read(0, 8192) == before


async def test_frozen_fault_freezes_a_drive_the_profile_left_thawed() -> None:
    b = fast("storage-12sata", faults=(Fault("frozen", disk="sdd"),))
    with pytest.raises(DeviceStateError):
        await b.ata_set_password("/dev/sdd", "pw")


async def test_a_flash_that_fails_leaves_the_version(tmp_path: Path) -> None:
    from simulator.machine.image_format import firmware_image

    b = fast("1u-nvme", faults=(Fault("flash_fail", component="bmc"),))
    image = tmp_path / "bmc.bin"
    image.write_bytes(firmware_image("bmc", "7.00.00.00"))
    with pytest.raises(ToolError, match="did not respond"):
        await b.apply_firmware("bmc", str(image), progress=ProgressLog())
    versions = {c.id: c.version for c in await b.firmware_components()}
    assert versions["bmc"] == "6.10.30.00"
