"""The agent's state directory against a hostile neighbour or a damaged disk: planted symlinks at the temp
names, a record nested too deep to parse, a directory someone else owns (issue 13, items 7 and 8)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from teeth_agent.atomic_write import UnsafeDirectory, private_dir, write_atomic
from teeth_agent.backend.null import NullBackend
from teeth_agent.commands.registry import error_payload
from teeth_agent.images.cache_index import CacheIndex, IndexFile
from teeth_agent.tasks.records import TaskRecord
from teeth_agent.tasks.runner import TaskRunner
from teeth_agent.tasks.store import JsonFileStore


def victim(tmp_path: Path) -> Path:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    return target


def test_the_cache_index_never_writes_through_a_symlink_planted_at_a_temp_name(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    target = victim(tmp_path)
    (state / "image-cache.json.tmp").symlink_to(target)  # the fixed temp name of the old code
    IndexFile.in_dir(state).save(CacheIndex(cache_disk={"path": "/dev/sdb"}))
    assert target.read_text() == "precious\n"
    assert json.loads((state / "image-cache.json").read_text())["cache_disk"] == {"path": "/dev/sdb"}
    assert stat.S_IMODE((state / "image-cache.json").stat().st_mode) == 0o600


def test_the_task_store_never_writes_through_a_symlink_planted_at_a_temp_name(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path / "state")
    rec = TaskRecord("t-1", "m", started_at=1.0)
    store.save(rec)
    target = victim(tmp_path)
    (final,) = store.directory.glob("*.json")
    # Every name the old code could have chosen for its next write: per-process, so predictable.
    (store.directory / f".{final.name}.{os.getpid()}.tmp").symlink_to(target)
    store.save(rec.progressed(50.0, None))
    assert target.read_text() == "precious\n"
    assert store.load() == [rec.progressed(50.0, None)]
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_write_atomic_leaves_nothing_behind_when_the_rename_fails(tmp_path: Path) -> None:
    (tmp_path / "a-dir").mkdir()
    with pytest.raises(OSError):
        write_atomic(tmp_path / "a-dir", b"x")  # renaming a file over a directory fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-dir"]


def nested(depth: int) -> str:
    return '{"task_id": "deep", "result": ' + "[" * depth + "]" * depth + "}"


def test_a_record_nested_too_deep_is_moved_aside_and_the_agent_starts(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path)
    good = TaskRecord("t-ok", "m", started_at=1.0).completed({}, 2.0)
    store.save(good)
    (store.directory / "deep.json").write_text(nested(100_000))
    (store.directory / "huge.json").write_text(json.dumps({**good.to_json(), "percent": 10**400}))
    seen: list[TaskRecord] = []
    runner = TaskRunner(backend=NullBackend(), store=store, state_dir=tmp_path, to_error=error_payload,
                        on_status=seen.append)
    runner.recover()  # what the agent does at start; RecursionError here was a crash loop under systemd
    assert [r.task_id for r in runner.records()] == ["t-ok"] and seen == [good]
    aside = sorted(p.name for p in store.directory.iterdir() if p.suffix == ".corrupt")
    assert aside == ["deep.corrupt", "huge.corrupt"]


def test_the_state_dir_is_created_private_and_narrowed_when_it_is_ours(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "state")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    os.chmod(loose, 0o777)
    private_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4321, 4321)
    with pytest.raises(UnsafeDirectory, match="owned by uid 4321"):
        private_dir(theirs)
