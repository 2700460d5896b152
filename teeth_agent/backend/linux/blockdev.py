"""BlockIO for the Linux backend: discard, write-zeroes, O_DIRECT overwrite, handles, signature wipe."""

from __future__ import annotations

from teeth_agent.backend.api import Progress
from teeth_agent.backend.errors import ToolError, Unsupported, VerificationFailed
from teeth_agent.backend.linux import signature_probe as probe
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.direct_handle import DirectHandle
from teeth_agent.backend.linux.direct_io import overwrite_zeroes
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.signatures import parse_wipefs_erased
from teeth_agent.backend.linux.sysfs import queue_attr

# Discard/zero-out goes in steps so progress is reported and a cancel stops between steps.
STEPS = 64
MIN_STEP = 1 << 30
STEP_TIMEOUT = 3600.0
TOOL_TIMEOUT = 60.0
# Zeroed at both ends of the disk and of every partition: covers the protective MBR, both GPT copies
# (header and entries, 512 B or 4 KiB sectors) and the superblocks filesystems and RAID keep near an end.
EDGE = 1 << 20


def _steps(size: int, align: int) -> list[tuple[int, int]]:
    step = max(MIN_STEP, -(-size // STEPS))
    step = -(-step // align) * align
    return [(start, min(step, size - start)) for start in range(0, size, step)]


class BlockOps:
    def __init__(self, runner: Runner, guard: DeviceGuard) -> None:
        self._runner = runner
        self._guard = guard

    async def open_block(self, path: str, *, writable: bool) -> DirectHandle:
        return await DirectHandle.open(self._guard.check(path), writable=writable)

    async def _blkdiscard(self, path: str, mode: list[str], what: str, progress: Progress) -> None:
        device = self._guard.check(path)
        handle = await DirectHandle.open(device, writable=False)
        size, align = handle.size, handle.alignment
        await handle.close()
        done = 0
        for start, length in _steps(size, align):
            argv = ["blkdiscard", "-f", *mode, "-o", str(start), "-l", str(length), device]
            try:
                await self._runner.run(argv, timeout=STEP_TIMEOUT)
            except ToolError as exc:
                if "not supported" in exc.stderr.lower():
                    raise Unsupported(f"{path}: device does not support {what}") from exc
                raise
            done += length
            progress(done, size)

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        device = self._guard.check(path)
        if queue_attr(device, "discard_max_bytes") == 0:
            raise Unsupported(f"{path}: device does not support discard")
        await self._blkdiscard(device, ["-s"] if secure else [], "secure discard" if secure else "discard",
                               progress)

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        device = self._guard.check(path)
        # Without the offload the kernel would write the zeroes itself: that is the overwrite method's job.
        if queue_attr(device, "write_zeroes_max_bytes") == 0:
            raise Unsupported(f"{path}: device has no write-zeroes offload")
        await self._blkdiscard(device, ["-z"], "write-zeroes", progress)

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        await overwrite_zeroes(self._guard.check(path), progress)

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        device = self._guard.check(path)
        parts = await probe.partitions(self._runner, device)
        found = [sig for part in parts for sig in await probe.probe_at(self._runner, device, part.start,
                                                                        part.size)]
        wiped = await self._runner.run(["wipefs", "-a", "-f", device], timeout=TOOL_TIMEOUT)
        found += [sig.type for sig in parse_wipefs_erased(wiped.stdout)]
        await self._zero_edges(device, [(0, None)] + [(p.start, p.size) for p in parts])
        # The kernel may still hold the old partitions; a busy disk keeps them, which is not an error.
        await self._runner.run(["blockdev", "--rereadpt", device], timeout=TOOL_TIMEOUT, check=False)
        left = list(await probe.probe_at(self._runner, device))
        for part in parts:
            left += await probe.probe_at(self._runner, device, part.start, part.size)
        if left:
            raise VerificationFailed(f"{path}: signatures remain after wiping: {sorted(set(left))}")
        return tuple(dict.fromkeys(found))

    async def _zero_edges(self, device: str, regions: list[tuple[int, int | None]]) -> None:
        handle = await DirectHandle.open(device, writable=True)
        try:
            for start, size in regions:
                if start >= handle.size:
                    continue  # a partition entry beyond the end of the disk: nothing there to zero
                length = min(handle.size - start, handle.size if size is None else size)
                edge = min(EDGE, length) // handle.alignment * handle.alignment
                zeroes = bytes(edge)
                await handle.write_at(start, zeroes)
                tail = (start + length - edge) // handle.alignment * handle.alignment
                await handle.write_at(tail, zeroes)
            await handle.flush()
        finally:
            await handle.close()
