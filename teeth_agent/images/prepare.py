"""standbye.prepare_image: the image onto the install disk — from the cache when it holds it, else
downloaded — verified; the install disk from root-device hints, else the smallest disk that fits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.types import BlockDevice
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.images.cache_index import CacheIndex, IndexFile
from teeth_agent.images.disks import RootHints, choose_install_disk, identity
from teeth_agent.images.errors import ChecksumMismatch, CorruptImage
from teeth_agent.images.install import head_digest, install_image
from teeth_agent.images.pipeline import ByteSource
from teeth_agent.images.sources import RegionSource
from teeth_agent.images.spec import ImageSpec


async def already_installed(backend: Backend, index: CacheIndex, spec: ImageSpec, disk: BlockDevice) -> bool:
    """The index says this exact image is on this very disk, and its first MiB still says so."""
    record = index.installed
    if record is None or record.id != spec.id or record.hashes != spec.hash_map:
        return False
    if record.disk != identity(disk):
        return False
    handle = await backend.open_block(disk.path, writable=False)
    try:
        return await head_digest(handle) == record.head_sha256
    finally:
        await handle.close()


@dataclass
class PrepareRun:
    backend: Backend
    state_dir: Path
    log: logging.LoggerAdapter[logging.Logger]
    progress: Progress
    http: HttpOptions = field(default_factory=HttpOptions)

    async def run(self, spec: ImageSpec, hints: RootHints) -> dict[str, Any]:
        disks = await self.backend.list_disks()
        disk = choose_install_disk(disks, hints, spec.size or 0)
        index_file = IndexFile.in_dir(self.state_dir)
        index = index_file.load()
        if await already_installed(self.backend, index, spec, disk):
            self.progress(1, 1)
            return {"image_id": spec.id, "disk": disk.path, "source": "already_installed",
                    "size": index.installed.size if index.installed else None}
        # The disk is about to change: forget what it held before anything is written. When it is the
        # cache disk, that is the whole cache: reading a cached copy from the disk being overwritten
        # would clobber the source mid-stream, so the image is downloaded instead.
        index = replace(index, installed=None)
        if index.cache_disk is not None and index.cache_disk == identity(disk):
            self.log.warning("image %s: %s holds the image cache and is now the install disk; the cache "
                             "(%d images) is dropped and the image downloaded", spec.id, disk.path,
                             len(index.entries))
            index = CacheIndex()
        index_file.save(index)
        source, source_name, handle = await self._source(spec, index, disks)
        try:
            outcome = await install_image(self.backend, disk, spec, source, self.progress)
        except (ChecksumMismatch, CorruptImage) as exc:
            if handle is None:
                raise
            # The cached copy went bad on its disk: forget it, and fetch the image from its URLs.
            self.log.warning("image %s: cached copy failed verification (%s); downloading", spec.id, exc)
            index_file.save(replace(index_file.load().without({spec.id}), installed=None))
            source_name = "download"
            outcome = await install_image(self.backend, disk, spec, HttpDownload(spec.urls, self.http),
                                          self.progress)
        finally:
            if handle is not None:
                await handle.close()
        index_file.save(replace(index_file.load(), installed=outcome.record))
        return {"image_id": spec.id, "source": source_name, **outcome.to_json()}

    async def _source(
        self, spec: ImageSpec, index: CacheIndex, disks: tuple[BlockDevice, ...]
    ) -> tuple[ByteSource, str, Any]:
        entry = index.find(spec.id, spec.hash_map)
        cache_disk = next((d for d in disks if index.cache_disk == identity(d)), None)
        if entry is not None and cache_disk is not None:
            handle = await self.backend.open_block(cache_disk.path, writable=False)
            self.log.info("image %s: writing from the cache on %s", spec.id, cache_disk.path)
            return RegionSource(handle, entry.offset, entry.length), "cache", handle
        return HttpDownload(spec.urls, self.http), "download", None
