"""Signature probing with blkid: on the whole disk, and inside each partition found in its table.

Partitions are read from the disk itself (`sfdisk --json`) and probed by offset (`blkid -p -O -S`), so no
kernel partition devices or /dev nodes are needed: a ramdisk without udev, or a private /dev holding only
the disk, still sees what its partitions contain.
"""

from __future__ import annotations

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.signatures import Partition, blkid_signatures, parse_sfdisk_json

TOOL_TIMEOUT = 60.0
# blkid exit codes: 0 found, 2 nothing found, 8 ambivalent (several signatures: wipefs lists them).
_BLKID_NOTHING = 2
_BLKID_AMBIVALENT = 8


async def partitions(runner: Runner, device: str) -> tuple[Partition, ...]:
    result = await runner.run(["sfdisk", "--json", device], timeout=TOOL_TIMEOUT, check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return ()  # no recognised partition table
    return parse_sfdisk_json(result.stdout)


async def probe_at(runner: Runner, device: str, offset: int = 0, size: int | None = None) -> tuple[str, ...]:
    argv = ["blkid", "-p", "-o", "export"]
    if offset or size is not None:
        argv += ["-O", str(offset)] + (["-S", str(size)] if size is not None else [])
    result = await runner.run([*argv, device], timeout=TOOL_TIMEOUT, check=False)
    if result.returncode == _BLKID_NOTHING:
        return ()
    if result.returncode == _BLKID_AMBIVALENT:
        return ("ambivalent",)
    if result.returncode != 0:
        raise ToolError([*argv, device], result.returncode, result.stderr)
    return blkid_signatures(result.stdout)


async def signatures(runner: Runner, device: str) -> tuple[str, ...]:
    """Every signature on the disk: partition table and whole-disk ones, then each partition's."""
    found = list(await probe_at(runner, device))
    for part in await partitions(runner, device):
        found += await probe_at(runner, device, part.start, part.size)
    return tuple(dict.fromkeys(found))
