"""Where an image goes in the cache area, and what must be evicted for it: pure, on index entries.

The cache area is a byte range of the cache disk; entries are regions in it. A lower `priority` number
is more important (the request's order). An image may evict only entries less important than itself,
least important first, so a cache that is too small always holds the head of the priority list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from teeth_agent.images.cache_index import Entry

ALIGN = 1 << 20  # regions start on MiB boundaries: aligned for any sector size


@dataclass(frozen=True)
class Placement:
    offset: int
    evict: tuple[str, ...]  # image ids to drop from the index before writing


def align_up(value: int, alignment: int = ALIGN) -> int:
    return -(-value // alignment) * alignment


def free_extents(entries: Iterable[Entry], start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    pos = start
    for entry in sorted(entries, key=lambda e: e.offset):
        if entry.offset > pos:
            out.append((pos, entry.offset))
        pos = max(pos, align_up(entry.offset + entry.length))
    if pos < end:
        out.append((pos, end))
    return out


def _first_fit(entries: list[Entry], start: int, end: int, length: int) -> int | None:
    need = align_up(length)
    for lo, hi in free_extents(entries, start, end):
        if hi - lo >= need:
            return lo
    return None


def place(entries: Iterable[Entry], start: int, end: int, length: int, priority: int) -> Placement | None:
    """First fit; else evict less important entries (least important first) until it fits."""
    kept = list(entries)
    evicted: list[str] = []
    victims = sorted((e for e in kept if e.priority > priority), key=lambda e: (-e.priority, -e.length))
    while (offset := _first_fit(kept, start, end, length)) is None:
        if not victims:
            return None
        victim = victims.pop(0)
        kept.remove(victim)
        evicted.append(victim.id)
    return Placement(offset, tuple(evicted))
