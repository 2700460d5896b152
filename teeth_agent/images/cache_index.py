"""The image cache's index: a JSON file in the agent's state directory, replaced atomically.

It records what each cache region holds and which image was last written to which install disk, so both
survive an agent restart. It is only ever trusted together with the disk identity it names: a different
disk (or a changed size) makes its entries void. A missing or unreadable index is an empty one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

INDEX_NAME = "image-cache.json"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    id: str
    hashes: dict[str, str]
    disk_format: str
    offset: int
    length: int
    priority: int


@dataclass(frozen=True)
class Installed:
    """An image written (and verified) to an install disk; `head_sha256` re-checks it cheaply."""

    id: str
    hashes: dict[str, str]
    disk: dict[str, Any]
    head_sha256: str
    size: int


@dataclass(frozen=True)
class CacheIndex:
    cache_disk: dict[str, Any] | None = None
    entries: tuple[Entry, ...] = ()
    installed: Installed | None = None

    def find(self, image_id: str, hashes: dict[str, str]) -> Entry | None:
        return next((e for e in self.entries if e.id == image_id and e.hashes == hashes), None)

    def without(self, ids: set[str]) -> CacheIndex:
        return replace(self, entries=tuple(e for e in self.entries if e.id not in ids))

    def with_entry(self, entry: Entry) -> CacheIndex:
        kept = tuple(e for e in self.entries if e.id != entry.id)
        return replace(self, entries=tuple(sorted((*kept, entry), key=lambda e: e.offset)))


@dataclass
class IndexFile:
    path: Path
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def in_dir(cls, state_dir: Path) -> IndexFile:
        return cls(state_dir / INDEX_NAME)

    def load(self) -> CacheIndex:
        try:
            raw = json.loads(self.path.read_text())
            if raw.get("version") != VERSION:
                raise ValueError(f"version {raw.get('version')!r}")
            installed = raw.get("installed")
            return CacheIndex(
                cache_disk=raw.get("cache_disk"),
                entries=tuple(Entry(**e) for e in raw.get("entries", [])),
                installed=Installed(**installed) if installed else None,
            )
        except FileNotFoundError:
            return CacheIndex()
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.warnings.append(f"{self.path}: unreadable image cache index ignored ({exc})")
            return CacheIndex()

    def save(self, index: CacheIndex) -> None:
        """Write a temporary file, fsync it, rename it over the old one, fsync the directory: after a
        crash the index is either the old one or the new one, never half of each."""
        data = {"version": VERSION, "cache_disk": index.cache_disk,
                "entries": [asdict(e) for e in index.entries],
                "installed": asdict(index.installed) if index.installed else None}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
