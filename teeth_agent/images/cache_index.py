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

from teeth_agent.atomic_write import fsync_dir, write_atomic

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
    # The text last read or written at `path` and that file's identity, so an unchanged index is not
    # written again: a run saves at every step, and most steps change nothing on disk.
    _known: tuple[str, tuple[int, ...]] | None = field(default=None, repr=False)
    _durable: bool = field(default=False, repr=False)  # whether that file's rename is known to be synced

    @classmethod
    def in_dir(cls, state_dir: Path) -> IndexFile:
        return cls(state_dir / INDEX_NAME)

    def load(self) -> CacheIndex:
        try:
            with open(self.path) as f:
                text = f.read()
                identity = _identity(os.fstat(f.fileno()))
            raw = json.loads(text)
            if raw.get("version") != VERSION:
                raise ValueError(f"version {raw.get('version')!r}")
            installed = raw.get("installed")
            index = CacheIndex(
                cache_disk=raw.get("cache_disk"),
                entries=tuple(Entry(**e) for e in raw.get("entries", [])),
                installed=Installed(**installed) if installed else None,
            )
        except FileNotFoundError:
            return CacheIndex()
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            self.warnings.append(f"{self.path}: unreadable image cache index ignored ({exc})")
            return CacheIndex()
        self._known, self._durable = (text, identity), False
        return index

    def save(self, index: CacheIndex) -> None:
        """Write a temporary file, fsync it, rename it over the old one, fsync the directory: after a
        crash the index is either the old one or the new one, never half of each. When the file there is
        still the one last read or written and holds this very text, only the directory sync is owed."""
        text = json.dumps({"version": VERSION, "cache_disk": index.cache_disk,
                           "entries": [asdict(e) for e in index.entries],
                           "installed": asdict(index.installed) if index.installed else None},
                          indent=1, sort_keys=True)
        if self._unchanged(text):
            if not self._durable:
                fsync_dir(self.path.parent)  # a file read, not written, here: its rename may be unsynced
                self._durable = True
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        identity = _identity(write_atomic(self.path, text.encode()))  # a rename keeps the inode and mtime
        self._known, self._durable = (text, identity), True

    def _unchanged(self, text: str) -> bool:
        if self._known is None or self._known[0] != text:
            return False
        try:
            return _identity(os.stat(self.path)) == self._known[1]
        except FileNotFoundError:
            return False


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes when the file at a path is replaced or rewritten."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
