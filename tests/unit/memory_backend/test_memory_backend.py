"""The MemoryBackend's own promises beyond the contract suite: what each handler outcome does, the manual
clock, sparse disks, firmware and boot state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from teeth_agent.backend.api import no_progress
from teeth_agent.backend.errors import DeviceIOError, DeviceRefused, DeviceStateError, Unsupported
from teeth_agent.backend.memory import (
    LIE,
    NOISE,
    SILENT,
    Call,
    FailAfter,
    ManualClock,
    MemoryBackend,
    MemoryFirmware,
    MemoryMachine,
    Outcome,
    SparseBytes,
    chain,
    firmware_image,
    memory_disk,
)
from teeth_agent.backend.types import AtaSecurity, FirmwareComponent, KexecTarget, NvmeCaps

MIB = 1 << 20


def one_disk(handler: object = None, **kw: object) -> MemoryBackend:
    machine = MemoryMachine.of(memory_disk("/dev/sda", 4 * MIB, fill=0x5A, **kw))  # type: ignore[arg-type]
    return MemoryBackend(machine) if handler is None else MemoryBackend(machine, handler=handler)  # type: ignore[arg-type]


def on(op: str, outcome: Outcome) -> object:
    def handler(call: Call) -> Outcome:
        return outcome if call.op == op else None

    return handler


def data(be: MemoryBackend) -> bytes:
    return be.disks["/dev/sda"].data.read(0, 4 * MIB)


async def test_honest_overwrite_zeroes_reports_progress_and_takes_its_time_on_the_clock() -> None:
    be = one_disk()
    seen: list[tuple[float, float]] = []
    await be.overwrite("/dev/sda", progress=lambda d, t: seen.append((d, t)))
    assert data(be) == bytes(4 * MIB) and seen[-1] == (4 * MIB, 4 * MIB)
    assert be.clock.monotonic() == 4.0 and be.calls == [("overwrite", "/dev/sda")]


async def test_silent_reports_success_and_does_nothing() -> None:
    be = one_disk(on("overwrite", SILENT))
    seen: list[tuple[float, float]] = []
    await be.overwrite("/dev/sda", progress=lambda d, t: seen.append((d, t)))
    assert data(be) == b"\x5a" * (4 * MIB) and seen == []


async def test_lie_reports_progress_but_keeps_the_data_and_still_changes_state() -> None:
    sec = AtaSecurity(supported=True, enhanced_erase_supported=True)
    be = one_disk(on("ata_erase", LIE), ata=sec)
    await be.ata_set_password("/dev/sda", "pw")
    seen: list[tuple[float, float]] = []
    await be.ata_erase("/dev/sda", "pw", enhanced=True, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (4 * MIB, 4 * MIB) and data(be) == b"\x5a" * (4 * MIB)
    after = await be.ata_security("/dev/sda")
    assert after is not None and not after.enabled


async def test_fail_after_does_that_fraction_of_the_work_then_raises() -> None:
    be = one_disk(on("overwrite", FailAfter(0.5, DeviceIOError("medium error"))))
    with pytest.raises(DeviceIOError, match="medium error"):
        await be.overwrite("/dev/sda", progress=no_progress)
    assert data(be)[: 2 * MIB] == bytes(2 * MIB) and data(be)[2 * MIB :] == b"\x5a" * (2 * MIB)


async def test_a_raising_handler_fails_the_operation_but_the_call_is_still_logged() -> None:
    def refuse(call: Call) -> Outcome:
        if call.op == "wipe_signatures":
            raise Unsupported("not today")
        return None

    be = one_disk(chain(on("overwrite", SILENT), refuse), fs_signatures=("gpt",))
    with pytest.raises(Unsupported):
        await be.wipe_signatures("/dev/sda")
    assert (await be.refresh_disk("/dev/sda")).fs_signatures == ("gpt",)
    assert be.touched("/dev/sda") and be.calls == [("wipe_signatures", "/dev/sda")]


async def test_device_checks_come_before_the_handler() -> None:
    be = one_disk(on("ata_set_password", SILENT), ata=AtaSecurity(supported=True, frozen=True))
    with pytest.raises(DeviceStateError, match="frozen"):
        await be.ata_set_password("/dev/sda", "pw")
    assert be.calls == []
    ro = one_disk(read_only=True)
    with pytest.raises(DeviceRefused):
        await ro.open_block("/dev/sda", writable=True)
    with pytest.raises(Unsupported, match="discard"):
        await one_disk().discard("/dev/sda", secure=False, progress=no_progress)  # the device claims none


async def test_crypto_format_leaves_noise_that_differs_from_the_old_data() -> None:
    be = one_disk(nvme=NvmeCaps(format_supported=True, crypto_erase_supported=True))
    await be.nvme_format("/dev/sda", ses=2, progress=no_progress)
    after = data(be)
    assert after.count(0x5A) < len(after) // 100 and after.count(0) < len(after) // 100
    with pytest.raises(Unsupported):
        no_crypto = one_disk(nvme=NvmeCaps(format_supported=True))
        await no_crypto.nvme_format("/dev/sda", ses=2, progress=no_progress)


def test_sparse_bytes_hold_a_huge_disk_and_read_past_the_end_short() -> None:
    big = SparseBytes(4 * 10**12)
    big.write(3 * 10**12, b"abc")
    assert big.read(3 * 10**12 - 1, 5) == b"\0abc\0"
    assert big.read(4 * 10**12 - 2, 10) == b"\0\0" and big.read(4 * 10**12, 1) == b""
    big.fill(0, big.size, NOISE)
    assert big.read(3 * 10**12, 3) != b"abc"


async def test_manual_clock_without_auto_advance_waits_for_the_test() -> None:
    clock = ManualClock(auto_advance=False)
    sleeper = asyncio.create_task(clock.sleep(10))
    await clock.wait_for_sleepers(1)
    clock.advance(9)
    assert clock.sleepers == 1  # its deadline has not come
    clock.advance(1)
    await sleeper
    assert clock.monotonic() == 10 and clock.time() == 1_800_000_010.0
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_firmware_applied_on_reboot_shows_only_after_the_reboot(tmp_path: Path) -> None:
    comp = FirmwareComponent("bios", "bios", "Acme", "X", "1.0", True)
    fw = MemoryFirmware({"bios": comp}, applies_on_reboot={"bios"})
    be = MemoryBackend(MemoryMachine(firmware=fw))
    image = tmp_path / "bios.bin"
    image.write_bytes(firmware_image("1.1"))
    outcome = await be.apply_firmware("bios", str(image), progress=no_progress)
    assert outcome.reboot_required and (await be.firmware_components())[0].version == "1.0"
    boot = await be.boot_id()
    await be.reboot()
    assert (await be.firmware_components())[0].version == "1.1" and await be.boot_id() != boot
    image.write_bytes(b"not firmware")
    with pytest.raises(DeviceIOError, match="rejected"):
        await be.apply_firmware("bios", str(image), progress=no_progress)


async def test_kexec_needs_a_loaded_kernel_and_starts_a_new_boot() -> None:
    be = one_disk()
    with pytest.raises(DeviceStateError):
        await be.kexec_exec()
    boot = await be.boot_id()
    await be.kexec_load("/dev/sda", KexecTarget("/boot/vmlinuz", None, "ro"))
    await be.kexec_exec()
    assert await be.boot_id() != boot and be.machine.kexec_loaded is None
