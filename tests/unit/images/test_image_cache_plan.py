from __future__ import annotations

from pathlib import Path

from teeth_agent.backend.types import BlockDevice
from teeth_agent.images.cache_index import CacheIndex, Entry, IndexFile, Installed
from teeth_agent.images.cache_plan import free_extents, place
from teeth_agent.images.disks import RootHints, choose_cache_disk, choose_install_disk, parse_hints

MiB, GiB = 1 << 20, 1 << 30


def entry(name: str, offset_mib: int, length_mib: int, priority: int) -> Entry:
    return Entry(name, {"sha256": "a" * 64}, "raw", offset_mib * MiB, length_mib * MiB, priority)


def test_first_fit_in_a_gap() -> None:
    entries = [entry("a", 1, 4, 0), entry("b", 9, 4, 1)]
    assert free_extents(entries, MiB, 20 * MiB) == [(5 * MiB, 9 * MiB), (13 * MiB, 20 * MiB)]
    placement = place(entries, MiB, 20 * MiB, 3 * MiB + 1, priority=2)
    assert placement is not None and placement.offset == 5 * MiB and placement.evict == ()


def test_evicts_least_important_first_and_never_more_important() -> None:
    entries = [entry("a", 1, 6, 0), entry("b", 7, 6, 3), entry("c", 13, 6, 5)]
    placement = place(entries, MiB, 19 * MiB, 6 * MiB, priority=1)
    assert placement is not None and placement.evict == ("c",)
    assert place(entries, MiB, 19 * MiB, 6 * MiB, priority=9) is None  # nothing less important
    assert place(entries, MiB, 19 * MiB, 30 * MiB, priority=0) is None  # larger than the area


def disk(path: str, size: int, **kw: object) -> BlockDevice:
    return BlockDevice(path=path, size=size, **kw)  # type: ignore[arg-type]


DISKS = (
    disk("/dev/sda", 500 * GiB, serial="S1", model="Big"),
    disk("/dev/sdb", 120 * GiB, serial="S2", wwn="0x5000", model="Small"),
    disk("/dev/sdc", 2 * GiB, serial="S3"),
    disk("/dev/sdd", 50 * GiB, read_only=True),
    disk("/dev/sde", 60 * GiB, is_boot_medium=True),
)


def test_smallest_usable_disk_that_fits_is_the_install_disk() -> None:
    assert choose_install_disk(DISKS, RootHints()).path == "/dev/sdb"
    assert choose_install_disk(DISKS, RootHints(), needed=200 * GiB).path == "/dev/sda"


def test_hints_pick_a_disk_and_unmatched_hints_are_an_error() -> None:
    assert choose_install_disk(DISKS, parse_hints({"serial": "s1"})).path == "/dev/sda"
    assert choose_install_disk(DISKS, parse_hints({"wwn": "0x5000", "size": 120})).path == "/dev/sdb"
    assert choose_install_disk(DISKS, parse_hints({"path": "/dev/sdc"})).path == "/dev/sdc"
    try:
        choose_install_disk(DISKS, parse_hints({"path": "/dev/sdd"}))  # read-only: never
    except Exception as exc:
        assert "root device hints" in str(exc)
    else:
        raise AssertionError("a read-only disk was chosen")


def test_cache_disk_is_the_largest_other_usable_disk() -> None:
    install = choose_install_disk(DISKS, RootHints())
    cache = choose_cache_disk(DISKS, install)
    assert cache is not None and cache.path == "/dev/sda"
    assert choose_cache_disk(DISKS[1:2], DISKS[1]) is None


def test_index_round_trips_atomically_and_ignores_garbage(tmp_path: Path) -> None:
    index_file = IndexFile.in_dir(tmp_path / "state")
    assert index_file.load() == CacheIndex()
    index = CacheIndex(
        cache_disk={"path": "/dev/sda", "serial": "S1", "wwn": None, "size": 500 * GiB},
        entries=(entry("a", 1, 4, 0),),
        installed=Installed("a", {"sha256": "a" * 64}, {"path": "/dev/sdb"}, "f" * 64, 4 * MiB),
    )
    index_file.save(index)
    assert IndexFile.in_dir(tmp_path / "state").load() == index
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["image-cache.json"]  # no temp left
    (tmp_path / "state" / "image-cache.json").write_text("{not json")
    broken = IndexFile.in_dir(tmp_path / "state")
    assert broken.load() == CacheIndex()
    assert broken.warnings and "ignored" in broken.warnings[0]


def test_an_unchanged_index_is_not_rewritten_but_a_replaced_file_is(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = state / "image-cache.json"
    first = CacheIndex(cache_disk={"path": "/dev/sda", "size": GiB}, entries=(entry("a", 1, 4, 0),))
    second = first.without({"a"})
    index_file = IndexFile.in_dir(state)
    index_file.save(first)
    inode = path.stat().st_ino
    index_file.save(first)
    assert path.stat().st_ino == inode  # same text: the file was left as it was
    index_file.save(second)
    assert path.stat().st_ino != inode and IndexFile.in_dir(state).load() == second
    # Someone else put another index there: saving ours again must write it, text equal or not.
    IndexFile.in_dir(state).save(first)
    index_file.save(second)
    assert IndexFile.in_dir(state).load() == second
    path.unlink()
    index_file.save(second)
    assert IndexFile.in_dir(state).load() == second


def test_saving_what_was_loaded_keeps_the_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    index = CacheIndex(cache_disk={"path": "/dev/sda", "size": GiB}, entries=(entry("a", 1, 4, 0),))
    IndexFile.in_dir(state).save(index)
    inode = (state / "image-cache.json").stat().st_ino
    reader = IndexFile.in_dir(state)
    reader.save(reader.load())
    assert (state / "image-cache.json").stat().st_ino == inode
    reader.save(CacheIndex())
    assert IndexFile.in_dir(state).load() == CacheIndex()
