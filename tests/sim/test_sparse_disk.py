"""The sparse disk model reads back exactly what a plain bytearray would, whatever the operations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.machine.contents import SparseDisk
from simulator.machine.extents import ZERO, pattern

SIZE = 16 * 4096
OLD = pattern("old")

sector = st.integers(0, SIZE // 512 - 1)
write_op = st.tuples(st.just("write"), sector, st.integers(1, 20), st.sampled_from([0, 1, 7]))
fill_op = st.tuples(st.just("fill"), sector, st.integers(1, 40), st.sampled_from(["zero", "new"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(write_op, fill_op), max_size=25))
def test_matches_a_bytearray_model(ops: list[tuple[str, int, int, object]]) -> None:
    disk = SparseDisk(SIZE, OLD)
    model = bytearray(OLD.render(0, SIZE))
    for kind, first, count, arg in ops:
        start = first * 512
        end = min(SIZE, start + count * 512)
        if kind == "write":
            assert isinstance(arg, int)
            data = bytes([arg]) * (end - start) if arg != 7 else bytes(range(256)) * ((end - start) // 256)
            disk.write(start, data)
            model[start:end] = data
        else:
            fill = ZERO if arg == "zero" else pattern("new")
            disk.fill(start, end, fill)
            model[start:end] = fill.render(start, end)
    assert disk.read(0, SIZE) == bytes(model)
    assert disk.read(1000, 5000) == bytes(model[1000:6000])


def test_zero_writes_cost_no_memory_and_huge_fills_are_constant_time() -> None:
    disk = SparseDisk(8 * 10**12 // 4096 * 4096, OLD)
    for offset in range(0, 64 << 20, 4 << 20):
        disk.write(offset, bytes(4 << 20))
    assert disk.stored_bytes() == 0
    disk.write(1 << 30, b"x" * 4096)
    assert 0 < disk.stored_bytes() <= 1024  # a repetitive block is kept compressed
    noise = bytes((i * 7919 + i // 3) % 251 for i in range(4096))
    disk.write(2 << 30, noise)
    assert disk.read(2 << 30, 4096) == noise and disk.read(1 << 30, 4096) == b"x" * 4096
    disk.fill(0, disk.size, ZERO)
    assert disk.is_fill(ZERO) and disk.stored_bytes() == 0 and len(disk.extents) == 1


def test_pattern_differs_per_block_so_misplaced_reads_show() -> None:
    assert OLD.render(0, 4096) != OLD.render(4096, 8192)
    assert OLD.render(100, 200) == OLD.render(0, 4096)[100:200]
