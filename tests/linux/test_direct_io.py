"""O_DIRECT overwrite and DirectHandle on a file-backed target (no root needed)."""

from __future__ import annotations

import asyncio
import mmap
import os
from pathlib import Path

import pytest

from teeth_agent.backend.api import Backend, BlockHandle
from teeth_agent.backend.errors import DeviceIOError, DeviceNotFound, Unsupported
from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.direct_handle import DirectHandle
from teeth_agent.backend.linux.direct_io import overwrite_zeroes
from teeth_agent.backend.linux.exec import FakeRunner

MIB = 1 << 20


def target(tmp_path: Path, size: int, pattern: bytes = b"\x5a") -> Path:
    path = tmp_path / "target.img"
    path.write_bytes(pattern * size)
    return path


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_overwrite_zeroes_a_file_target_with_monotonic_progress(tmp_path: Path) -> None:
    size = 5 * MIB + 8192
    path = target(tmp_path, size)
    ticks: list[tuple[float, float]] = []
    written = await overwrite_zeroes(str(path), lambda d, t: ticks.append((d, t)), chunk=MIB, batch=2 * MIB)
    assert written == size and path.read_bytes() == bytes(size)
    assert [d for d, _ in ticks] == sorted(d for d, _ in ticks) and ticks[-1] == (size, size)


async def test_cancelled_overwrite_waits_for_its_writes_and_closes(tmp_path: Path) -> None:
    path = target(tmp_path, 32 * MIB)
    before = open_fds()
    task: asyncio.Task[int] | None = None

    def cancel_on_first_tick(done: float, total: float) -> None:
        assert task is not None
        task.cancel()

    task = asyncio.create_task(overwrite_zeroes(str(path), cancel_on_first_tick, chunk=MIB, batch=MIB))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert open_fds() == before
    assert path.read_bytes()[-MIB:] == b"\x5a" * MIB  # stopped early: the end was never reached


async def test_misaligned_chunk_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aligned"):
        await overwrite_zeroes(str(target(tmp_path, MIB)), lambda d, t: None, chunk=1000, batch=1000)


async def test_handle_round_trip_and_misuse(tmp_path: Path) -> None:
    path = target(tmp_path, MIB)
    handle = await DirectHandle.open(str(path), writable=True)
    assert (handle.size, handle.alignment) == (MIB, 4096)
    await handle.write_at(8192, b"canary!!" * 512)
    assert await handle.read_at(8192, 4096) == b"canary!!" * 512
    with pytest.raises(DeviceIOError, match="multiples"):
        await handle.write_at(100, bytes(4096))
    with pytest.raises(DeviceIOError, match="passes the end"):
        await handle.write_at(MIB - 4096, bytes(8192))
    assert await handle.read_at(MIB - 4096, 8192) == b"\x5a" * 4096  # short at the end, like pread
    assert await handle.read_at(MIB, 4096) == b""
    await handle.flush()
    await handle.close()
    with pytest.raises(ValueError, match="closed"):
        await handle.read_at(0, 4096)
    await handle.close()  # closing twice is harmless


async def test_aligned_buffers_are_written_as_they_are_and_others_copied(tmp_path: Path) -> None:
    path = target(tmp_path, MIB)
    handle = await DirectHandle.open(str(path), writable=True)
    try:
        pooled = mmap.mmap(-1, 2 * 4096)  # page aligned: written without a copy
        pooled[:] = b"P" * 8192
        await handle.write_at(0, memoryview(pooled))
        pooled.close()  # the handle holds no export of the caller's buffer after write_at
        odd = bytearray(b"x" + b"Q" * 4096)  # an unaligned slice: copied first
        await handle.write_at(8192, memoryview(odd)[1:])
        await handle.write_at(12288, b"B" * 4096)  # immutable bytes: copied first
        assert await handle.read_at(0, 16384) == b"P" * 8192 + b"Q" * 4096 + b"B" * 4096
    finally:
        await handle.close()


async def test_open_missing_device(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFound):
        await DirectHandle.open(str(tmp_path / "missing"), writable=False)


async def test_offloads_refused_where_the_queue_has_none(tmp_path: Path) -> None:
    # A regular file has no request queue: no discard, no write-zeroes offload, and no tool is run.
    path = target(tmp_path, MIB)
    runner = FakeRunner({})
    backend = LinuxBackend(only_devices=[str(path)], runner=runner)
    with pytest.raises(Unsupported, match="discard"):
        await backend.discard(str(path), secure=False, progress=lambda d, t: None)
    with pytest.raises(Unsupported, match="write-zeroes"):
        await backend.write_zeroes(str(path), progress=lambda d, t: None)
    assert runner.calls == []


async def test_linux_backend_is_a_backend(tmp_path: Path) -> None:
    # Checked by mypy as much as by the run: LinuxBackend must satisfy the Backend protocol.
    backend: Backend = LinuxBackend(runner=FakeRunner({}))
    path = target(tmp_path, MIB)
    handle: BlockHandle = await LinuxBackend(only_devices=[str(path)]).open_block(str(path), writable=False)
    await handle.close()
    assert backend.name == "linux" and len(await backend.boot_id()) == 36


async def test_areas_not_built_yet_say_so() -> None:
    backend = LinuxBackend(runner=FakeRunner({}))
    with pytest.raises(Unsupported, match="not implemented"):
        await backend.firmware_components()
    with pytest.raises(Unsupported, match="not implemented"):
        await backend.reboot()
