"""The build cache key, the reuse decision, DIB's environment and the leftover-mount finder."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from testbed.ramdisk.cleanup import loops_backed_under, mounts_under
from testbed.ramdisk.config import RamdiskConfig, dib_command, dib_environment
from testbed.ramdisk.inputs import BuildRecord, artefact_paths, input_digest, reusable_record


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A miniature source tree: an element, the agent package, pyproject."""
    (tmp_path / "elements" / "teeth-agent" / "install.d").mkdir(parents=True)
    hook = tmp_path / "elements" / "teeth-agent" / "install.d" / "60-hook"
    hook.write_text("#!/bin/bash\n")
    hook.chmod(0o755)
    (tmp_path / "teeth_agent").mkdir()
    (tmp_path / "teeth_agent" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("[project]\nname='teeth-agent'\n")
    return tmp_path


def digest(repo: Path, **settings: str) -> str:
    return input_digest(RamdiskConfig(repo=repo, out_dir=repo / "out", **settings), "3.43.0")  # type: ignore[arg-type]


def test_digest_is_stable_for_unchanged_inputs(repo: Path) -> None:
    assert digest(repo) == digest(repo)


@pytest.mark.parametrize(
    "change",
    [
        lambda r: (r / "teeth_agent" / "__init__.py").write_text("VERSION = 2\n"),
        lambda r: (r / "teeth_agent" / "cli.py").write_text(""),
        lambda r: (r / "elements" / "teeth-agent" / "install.d" / "60-hook").write_text("#!/bin/bash\n:\n"),
        lambda r: (r / "elements" / "teeth-agent" / "install.d" / "60-hook").chmod(0o644),
        lambda r: (r / "pyproject.toml").write_text("[project]\nname='teeth-agent'\nversion='2'\n"),
    ],
    ids=["agent-source", "agent-new-module", "element-script", "element-exec-bit", "pyproject"],
)
def test_any_real_change_changes_the_digest(repo: Path, change: object) -> None:
    before = digest(repo)
    change(repo)  # type: ignore[operator]
    assert digest(repo) != before


def test_build_settings_change_the_digest(repo: Path) -> None:
    assert digest(repo, compress="xz") != digest(repo)
    assert digest(repo, compress_level="19") != digest(repo)
    assert digest(repo, release="trixie") != digest(repo)


def test_bytecode_caches_do_not_change_the_digest(repo: Path) -> None:
    before = digest(repo)
    (repo / "teeth_agent" / "__pycache__").mkdir()
    (repo / "teeth_agent" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert digest(repo) == before


def _publish_fake_build(out: Path, inputs: str) -> None:
    out.mkdir()
    paths = artefact_paths(out)
    paths["kernel"].write_bytes(b"kernel")
    paths["initramfs"].write_bytes(b"initramfs")
    sums = "".join(f"{hashlib.sha256(paths[k].read_bytes()).hexdigest()}  {paths[k].name}\n"
                   for k in ("kernel", "initramfs"))
    paths["sha256"].write_text(sums)
    paths["record"].write_text(BuildRecord(inputs, 1.0, 6, 9, "bookworm", "zstd").to_json())


def test_an_intact_build_with_the_same_inputs_is_reused(tmp_path: Path) -> None:
    _publish_fake_build(tmp_path / "out", "abc")
    record = reusable_record(tmp_path / "out", "abc")
    assert record is not None and record.initramfs_bytes == 9


def test_other_inputs_or_damaged_artefacts_are_not_reused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish_fake_build(out, "abc")
    assert reusable_record(out, "def") is None
    artefact_paths(out)["initramfs"].write_bytes(b"truncated")
    assert reusable_record(out, "abc") is None


def test_a_build_without_its_record_is_not_reused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish_fake_build(out, "abc")
    artefact_paths(out)["record"].unlink()
    assert reusable_record(out, "abc") is None
    shutil.rmtree(out)
    assert reusable_record(out, "abc") is None


def test_dib_environment_drops_host_pip_settings_and_sets_the_build(tmp_path: Path) -> None:
    config = RamdiskConfig(repo=tmp_path, out_dir=tmp_path / "out", mirror="http://127.0.0.1:8/debian")
    host = {"PATH": "/usr/bin", "PIP_FIND_LINKS": "/host/wheels", "PIP_CERT": "/etc/ssl/x.pem"}
    env = dib_environment(config, host, tmp_path / "w", tmp_path / "t", tmp_path / "c")
    assert not [key for key in env if key.startswith("PIP_")]
    assert env["PATH"] == "/usr/bin"
    assert env["DIB_DISTRIBUTION_MIRROR"] == "http://127.0.0.1:8/debian"
    assert env["DIB_RELEASE"] == "bookworm"
    assert env["ELEMENTS_PATH"] == str(tmp_path / "elements")
    assert env["DIB_TEETH_AGENT_WHEELS"] == str(tmp_path / "w")
    assert env["TMPDIR"] == str(tmp_path / "t")
    assert dib_command(Path("/v/disk-image-create"), Path("/o/teeth-agent"))[-1] == "teeth-agent"


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
90 22 0:50 / /build/.build-x/tmp/dib_build.A/mnt rw shared:40 - tmpfs tmpfs rw
91 90 0:5 / /build/.build-x/tmp/dib_build.A/mnt/dev rw shared:2 - devtmpfs udev rw
92 91 0:24 / /build/.build-x/tmp/dib_build.A/mnt/dev/pts rw shared:3 - devpts devpts rw
93 90 0:51 / /build/.build-x/tmp/dib_build.A/mnt/tmp/in\\040target rw - tmpfs tmpfs rw
94 22 0:52 / /build/.build-xy rw - tmpfs tmpfs rw
"""


def test_leftover_mounts_are_found_deepest_first_and_only_under_the_build() -> None:
    found = mounts_under(MOUNTINFO, Path("/build/.build-x"))
    assert found[0] == "/build/.build-x/tmp/dib_build.A/mnt/dev/pts"
    assert found[-1] == "/build/.build-x/tmp/dib_build.A/mnt"
    assert "/build/.build-x/tmp/dib_build.A/mnt/tmp/in target" in found
    assert "/build/.build-xy" not in found and "/" not in found


def test_leftover_loop_devices_are_those_backed_by_files_of_the_build() -> None:
    listing = json.dumps({"loopdevices": [
        {"name": "/dev/loop0", "back-file": "/tmp/cap/gpt.img"},
        {"name": "/dev/loop3", "back-file": "/build/.build-x/tmp/dib_image.B/image.raw (deleted)"},
        {"name": "/dev/loop4", "back-file": None},
    ]})
    assert loops_backed_under(listing, Path("/build/.build-x")) == ["/dev/loop3"]
    assert loops_backed_under("", Path("/build/.build-x")) == []
