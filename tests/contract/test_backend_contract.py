"""What every Backend must do, whatever it runs on (see conftest.py for how backends join)."""

from __future__ import annotations

import re

import pytest
from contract_target import Target, target_fixture  # noqa: F401  (provides the `target` fixture)

from teeth_agent.backend.errors import BackendError, DeviceIOError, DeviceNotFound
from teeth_agent.backend.types import BlockDevice, BootMode, Inventory

MIB = 1 << 20


class ProgressLog:
    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    def __call__(self, done: float, total: float) -> None:
        self.calls.append((done, total))

    def assert_monotonic_to_total(self) -> None:
        assert self.calls, "no progress was reported"
        dones = [d for d, _ in self.calls]
        assert dones == sorted(dones), "progress went backwards"
        last_done, last_total = self.calls[-1]
        assert last_total > 0 and last_done == last_total


def _stamp(offset: int, length: int) -> bytes:
    word = f"teeth-contract@{offset:016x}|".encode()
    return (word * (length // len(word) + 1))[:length]


async def _disk(target: Target) -> BlockDevice:
    return next(d for d in await target.backend.list_disks() if d.path == target.disk)


async def test_list_disks_reports_identity(target: Target) -> None:
    disks = await target.backend.list_disks()
    paths = [d.path for d in disks]
    assert target.disk in paths and len(set(paths)) == len(paths)
    for d in disks:
        assert d.size > 0 and d.size % d.logical_sector_size == 0
        assert d.logical_sector_size in (512, 4096) and d.physical_sector_size >= d.logical_sector_size
        assert d.identity["path"] == d.path and d.identity["size"] == d.size
    again = await target.backend.refresh_disk(target.disk)
    assert again.identity == (await _disk(target)).identity


async def test_unknown_disk_is_not_found(target: Target) -> None:
    with pytest.raises(DeviceNotFound):
        await target.backend.refresh_disk("/dev/teeth-no-such-disk")
    with pytest.raises(DeviceNotFound):
        await target.backend.open_block("/dev/teeth-no-such-disk", writable=False)


async def test_block_round_trip_at_aligned_offsets(target: Target) -> None:
    disk = await _disk(target)
    handle = await target.backend.open_block(target.disk, writable=True)
    try:
        assert handle.size == disk.size
        align = handle.alignment
        assert align % disk.logical_sector_size == 0
        offsets = [0, align * 7, 3 * MIB + align, disk.size - 4 * align]
        for off in offsets:
            await handle.write_at(off, _stamp(off, 2 * align))
        await handle.flush()
        for off in offsets:
            assert await handle.read_at(off, 2 * align) == _stamp(off, 2 * align)
    finally:
        await handle.close()


async def test_a_write_past_the_end_fails_like_a_device(target: Target) -> None:
    handle = await target.backend.open_block(target.disk, writable=True)
    try:
        align = handle.alignment
        with pytest.raises(DeviceIOError):
            await handle.write_at(handle.size, bytes(align))
        with pytest.raises(DeviceIOError):
            await handle.write_at(handle.size - align, bytes(2 * align))
        assert await handle.read_at(handle.size, align) == b""
    finally:
        await handle.close()


async def test_misaligned_io_and_writes_through_a_read_only_handle_fail(target: Target) -> None:
    handle = await target.backend.open_block(target.disk, writable=False)
    try:
        with pytest.raises(BackendError):
            await handle.read_at(1, handle.alignment)
        with pytest.raises(BackendError):
            await handle.write_at(0, bytes(handle.alignment))
    finally:
        await handle.close()


async def _write_canaries(target: Target) -> list[int]:
    handle = await target.backend.open_block(target.disk, writable=True)
    try:
        offsets = [0, 5 * MIB, handle.size // 2 // handle.alignment * handle.alignment, handle.size - MIB]
        for off in offsets:
            await handle.write_at(off, _stamp(off, 64 * 1024))
        await handle.flush()
        return offsets
    finally:
        await handle.close()


async def _assert_zero_at(target: Target, offsets: list[int]) -> None:
    handle = await target.backend.open_block(target.disk, writable=False)
    try:
        for off in offsets:
            assert await handle.read_at(off, 64 * 1024) == bytes(64 * 1024), f"data survives at {off}"
    finally:
        await handle.close()


async def test_overwrite_zeroes_the_disk_with_monotonic_progress(target: Target) -> None:
    offsets = await _write_canaries(target)
    log = ProgressLog()
    await target.backend.overwrite(target.disk, progress=log)
    log.assert_monotonic_to_total()
    assert log.calls[-1][1] == (await _disk(target)).size
    await _assert_zero_at(target, offsets)


async def test_write_zeroes_zeroes_the_disk(target: Target) -> None:
    offsets = await _write_canaries(target)
    log = ProgressLog()
    await target.backend.write_zeroes(target.disk, progress=log)
    log.assert_monotonic_to_total()
    await _assert_zero_at(target, offsets)


async def test_discard_honours_what_the_device_claims(target: Target) -> None:
    disk = await _disk(target)
    offsets = await _write_canaries(target)
    if not disk.discard_supported:
        with pytest.raises(BackendError):
            await target.backend.discard(target.disk, secure=False, progress=ProgressLog())
        return
    log = ProgressLog()
    await target.backend.discard(target.disk, secure=False, progress=log)
    log.assert_monotonic_to_total()
    if disk.discard_zeroes:
        await _assert_zero_at(target, offsets)


async def test_wipe_signatures_leaves_none(target: Target) -> None:
    found = await target.backend.wipe_signatures(target.disk)
    assert all(isinstance(s, str) and s for s in found)
    assert (await target.backend.refresh_disk(target.disk)).fs_signatures == ()
    assert await target.backend.wipe_signatures(target.disk) == ()


async def test_inventory_shape(target: Target) -> None:
    inv = await target.backend.inventory()
    assert isinstance(inv, Inventory)
    assert inv.memory_mib > 0 and inv.cpu.cores >= 1 and inv.cpu.threads >= inv.cpu.cores
    assert {d.path for d in inv.disks} == {d.path for d in await target.backend.list_disks()}
    for nic in inv.nics:
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", nic.mac), nic.mac
    assert inv.boot_mode in (BootMode.BIOS, BootMode.UEFI)
    assert await target.backend.boot_mode() == inv.boot_mode


async def test_clock_moves_forward_across_its_own_sleep(target: Target) -> None:
    clock = target.backend.clock
    before, wall_before = clock.monotonic(), clock.time()
    await clock.sleep(0.01)
    assert clock.monotonic() >= before + 0.01
    assert clock.time() >= wall_before and clock.time() > 1.6e9


async def test_boot_id_is_stable_within_a_boot(target: Target) -> None:
    first = await target.backend.boot_id()
    assert first and first == await target.backend.boot_id()
    assert target.backend.name in ("sim", "linux", "memory")
