"""standbye.cache_images: images in priority order onto local storage, as many as fit.

With a disk other than the install disk, that disk becomes the cache area: each image is stored as
served (still compressed: more fit) in a region of it, verified by its digests, and recorded in the index.
Without one, only the top-priority image is pre-written to the install disk (where prepare_image will
find it). Nothing is ever cached in RAM. One image failing does not stop the others: it is skipped with
the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.types import BlockDevice
from teeth_agent.errors import CommandError
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.images.cache_index import CacheIndex, Entry, IndexFile
from teeth_agent.images.cache_plan import ALIGN, place
from teeth_agent.images.disks import RootHints, choose_cache_disk, choose_install_disk, identity
from teeth_agent.images.install import install_image
from teeth_agent.images.pipeline import Target, stream_image
from teeth_agent.images.prepare import already_installed
from teeth_agent.images.sources import PrimedDownload
from teeth_agent.images.spec import ImageSpec
from teeth_agent.images.worker import DecodeJob
from teeth_agent.images.writer import mark_not_bootable

CACHE_START = ALIGN  # the first MiB stays zero: the cache disk must never look bootable


@dataclass
class CacheReport:
    cached: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"cached": self.cached, "skipped": self.skipped}


@dataclass
class CacheRun:
    backend: Backend
    state_dir: Path
    log: logging.LoggerAdapter[logging.Logger]
    progress: Progress
    http: HttpOptions = field(default_factory=HttpOptions)

    async def run(self, images: Sequence[ImageSpec], hints: RootHints) -> CacheReport:
        disks = await self.backend.list_disks()
        install = choose_install_disk(disks, hints)
        cache_disk = choose_cache_disk(disks, install)
        index_file = IndexFile.in_dir(self.state_dir)
        index = index_file.load()
        for warning in index_file.warnings:
            self.log.warning(warning)
        if cache_disk is None:
            return await self._prewrite_top(images, install, index_file, index)
        return await self._fill_cache(images, cache_disk, index_file, index)

    async def _prewrite_top(
        self, images: Sequence[ImageSpec], install: BlockDevice, index_file: IndexFile, index: CacheIndex
    ) -> CacheReport:
        report = CacheReport()
        top, rest = images[0], images[1:]
        try:
            if await already_installed(self.backend, index, top, install):
                report.cached.append({"id": top.id, "location": "install_disk", "disk": install.path,
                                      "size": index.installed.size if index.installed else None})
                return self._skip_rest(report, rest)
            index_file.save(replace(index, installed=None))
            outcome = await install_image(self.backend, install, top, HttpDownload(top.urls, self.http),
                                          self._sub(0, len(images)))
            index_file.save(replace(index, installed=outcome.record))
            report.cached.append({"id": top.id, "location": "install_disk", "disk": install.path,
                                  "size": outcome.size})
        except (CommandError, BackendError, OSError) as exc:
            report.skipped.append({"id": top.id, "reason": str(exc)})
        return self._skip_rest(report, rest)

    @staticmethod
    def _skip_rest(report: CacheReport, rest: Sequence[ImageSpec]) -> CacheReport:
        for image in rest:
            report.skipped.append({"id": image.id, "reason": "no disk other than the install disk: only the "
                                   "top-priority image is pre-written to the install disk"})
        return report

    async def _fill_cache(
        self, images: Sequence[ImageSpec], disk: BlockDevice, index_file: IndexFile, index: CacheIndex
    ) -> CacheReport:
        if index.cache_disk != identity(disk):
            index = CacheIndex(cache_disk=identity(disk), installed=index.installed)
            await self._init_area(disk)
        wanted = {image.id: i for i, image in enumerate(images)}
        # Entries not asked for any more are the least important of all.
        index = replace(index, entries=tuple(replace(e, priority=wanted.get(e.id, len(images) + 1))
                                             for e in index.entries))
        index_file.save(index)
        report = CacheReport()
        for priority, image in enumerate(images):
            index = await self._cache_one(image, priority, disk, index_file, index, report, len(images))
        return report

    async def _init_area(self, disk: BlockDevice) -> None:
        handle = await self.backend.open_block(disk.path, writable=True)
        try:
            await mark_not_bootable(handle)
        finally:
            await handle.close()

    async def _cache_one(
        self, image: ImageSpec, priority: int, disk: BlockDevice, index_file: IndexFile,
        index: CacheIndex, report: CacheReport, count: int,
    ) -> CacheIndex:
        existing = index.find(image.id, image.hash_map)
        if existing is not None:
            report.cached.append(_cached(existing, disk, fresh=False))
            return index
        source = PrimedDownload(HttpDownload(image.urls, self.http))
        try:
            length = await source.prime() or image.size
            if length is None:
                raise _Skip("the server did not announce a size and the image spec has none")
            placement = place(index.without({image.id}).entries, CACHE_START, disk.size, length, priority)
            if placement is None:
                raise _Skip(f"does not fit: {length} bytes, even after evicting every less important image")
            index = index.without({image.id, *placement.evict})
            index_file.save(index)  # evicted regions are forgotten before they are overwritten
            entry = await self._store(image, source, disk, placement.offset, length, priority, count)
            index = index.with_entry(entry)
            index_file.save(index)
            report.cached.append(_cached(entry, disk, fresh=True, evicted=placement.evict))
        except _Skip as exc:
            report.skipped.append({"id": image.id, "reason": str(exc)})
        except (CommandError, BackendError, OSError) as exc:
            self.log.warning("image %s not cached: %s", image.id, exc)
            report.skipped.append({"id": image.id, "reason": str(exc)})
        finally:
            await source.aclose()
        return index

    async def _store(
        self, image: ImageSpec, source: PrimedDownload, disk: BlockDevice, offset: int, length: int,
        priority: int, count: int,
    ) -> Entry:
        handle = await self.backend.open_block(disk.path, writable=True)
        try:
            result = await stream_image(source, Target(handle, base=offset, capacity=length), image.hash_map,
                                        DecodeJob(decompress=False, declared_format=None),
                                        self._sub(priority, count))
        finally:
            await handle.close()
        return Entry(image.id, image.hash_map, image.disk_format, offset, result.received, priority)

    def _sub(self, index: int, count: int) -> Progress:
        """Progress over all images: image `index` of `count` moves the bar from index to index+1."""

        def report(done: float, total: float) -> None:
            fraction = min(done / total, 1.0) if total else 0.0
            self.progress(index + fraction, count)

        return report


class _Skip(Exception):
    pass


def _cached(entry: Entry, disk: BlockDevice, *, fresh: bool, evicted: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entry.id, "location": "cache_disk", "disk": disk.path,
                           "offset": entry.offset, "size": entry.length, "newly_cached": fresh}
    if evicted:
        out["evicted"] = list(evicted)
    return out
