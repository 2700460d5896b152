"""Erase the image cache before a tenant gets the machine.

The cache disk stays in the machine the tenant boots; images cached for *other* deployments must not be
readable there. Once run_image hands the machine over the cache has no further use (decommission erases
every disk before the next standby), so it is discarded when the disk guarantees discarded blocks read
as zeroes, else its regions are overwritten with zeroes, and the index forgets it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, BlockHandle
from teeth_agent.images.cache_index import Entry, IndexFile
from teeth_agent.images.disks import identity

ZERO_CHUNK = 4 << 20


async def wipe_cache(backend: Backend, state_dir: Path) -> dict[str, Any] | None:
    """Wipe what the index says is cached; return what was done, or None when nothing was cached."""
    index_file = IndexFile.in_dir(state_dir)
    index = index_file.load()
    if index.cache_disk is None:
        return None
    disk = next((d for d in await backend.list_disks() if identity(d) == index.cache_disk), None)
    if disk is None:
        return {"disk": index.cache_disk.get("path"), "images": 0, "method": "disk_gone"}
    if disk.discard_supported and disk.discard_zeroes:
        await backend.discard(disk.path, secure=False, progress=lambda done, total: None)
        method = "discard"
    else:
        handle = await backend.open_block(disk.path, writable=True)
        try:
            for entry in index.entries:
                await _zero(handle, entry)
            await handle.flush()
        finally:
            await handle.close()
        method = "zeroes"
    index_file.save(replace(index, cache_disk=None, entries=()))
    return {"disk": disk.path, "images": len(index.entries), "method": method}


async def _zero(handle: BlockHandle, entry: Entry) -> None:
    align = handle.alignment
    end = min(handle.size, -(-(entry.offset + entry.length) // align) * align)
    pos = entry.offset
    zeroes = bytes(ZERO_CHUNK)
    while pos < end:
        step = min(ZERO_CHUNK, end - pos)
        await handle.write_at(pos, zeroes[:step])
        pos += step
