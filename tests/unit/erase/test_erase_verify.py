"""Canary verification: planted at sampled offsets and both ends, found again on a disk that lied."""

from __future__ import annotations

from erase_fakes import FakeBackend, MiB, disk
from hypothesis import given, settings
from hypothesis import strategies as st

from teeth_agent.erase.verify import VerifyResult, check_full, check_sample, plan_canaries, write_canaries


@settings(deadline=None)  # no timing in tests: a slow CI box is not a failure
@given(
    sectors=st.integers(min_value=1, max_value=1 << 22),
    alignment=st.sampled_from([512, 4096]),
    seed=st.integers(0, 2**32),
)
def test_offsets_are_aligned_distinct_inside_and_include_both_ends(
    sectors: int, alignment: int, seed: int
) -> None:
    size = sectors * alignment
    plan = plan_canaries(size, alignment, seed)
    assert plan.block % alignment == 0
    if size < plan.block:
        assert plan.offsets == ()
        return
    if size < plan.block * 2:  # room for one canary only; the tail is still read after erasing
        assert plan.offsets == (0,)
        return
    assert plan.offsets[0] == 0 and plan.offsets[-1] + plan.block <= size
    assert plan.offsets[-1] + plan.block + alignment > size  # the very end
    assert len(set(plan.offsets)) == len(plan.offsets)
    assert all(o % alignment == 0 for o in plan.offsets)
    assert all(b - a >= plan.block for a, b in zip(plan.offsets, plan.offsets[1:], strict=False))


async def _planted(zero_after: bool) -> tuple[FakeBackend, object]:
    d = disk("/dev/sda", 8 * MiB)
    be = FakeBackend.of(d)
    handle = await be.open_block("/dev/sda", writable=True)
    plan = plan_canaries(handle.size, handle.alignment, seed=1)
    await write_canaries(handle, plan)
    if zero_after:
        d.data.write(0, bytes(d.device.size))
    return be, plan


async def test_sample_check_finds_canaries_left_by_a_lying_disk() -> None:
    be, plan = await _planted(zero_after=False)
    result = VerifyResult("sample", zeroes_expected=False)
    await check_sample(await be.open_block("/dev/sda", writable=False), plan, result, lambda a, b: None)  # type: ignore[arg-type]
    assert not result.passed and "canary still present" in result.failures[0]["problem"]
    assert result.failure_count >= len(plan.offsets)  # type: ignore[attr-defined]


async def test_sample_check_passes_on_zeroes_and_reads_both_ends() -> None:
    be, plan = await _planted(zero_after=True)
    result = VerifyResult("sample", zeroes_expected=True)
    seen: list[tuple[float, float]] = []
    await check_sample(
        await be.open_block("/dev/sda", writable=False), plan, result, lambda a, b: seen.append((a, b))
    )  # type: ignore[arg-type]
    assert result.passed
    assert result.bytes_read >= 2 * MiB  # both 1 MiB ends
    assert seen[-1][0] == seen[-1][1]


async def test_zeroing_method_that_left_other_data_fails_even_without_canaries() -> None:
    be, plan = await _planted(zero_after=True)
    be.disks["/dev/sda"].data.write(8 * MiB - 512, b"\x01" * 512)
    result = VerifyResult("sample", zeroes_expected=True)
    await check_sample(await be.open_block("/dev/sda", writable=False), plan, result, lambda a, b: None)  # type: ignore[arg-type]
    assert not result.passed and "non-zero" in result.failures[0]["problem"]


async def test_full_check_reads_every_byte() -> None:
    be, plan = await _planted(zero_after=True)
    be.disks["/dev/sda"].data.write(3 * MiB + 4096, plan.pattern(3 * MiB + 4096))  # type: ignore[attr-defined]
    result = VerifyResult("full", zeroes_expected=False)
    await check_full(await be.open_block("/dev/sda", writable=False), plan, result, lambda a, b: None)  # type: ignore[arg-type]
    assert result.bytes_read == 8 * MiB
    assert not result.passed and result.failures[0]["offset"] == 3 * MiB + 4096
