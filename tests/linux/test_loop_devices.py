"""The real LinuxBackend on loop devices, each run inside a private /dev holding only the loop device(s).

Root only. Every operation runs in `nsexec.py` under `unshare --mount`, with `only_devices` naming the
loop device; results are checked from the host by reading the loop device's backing file. Loop devices
are always detached, also when a test fails. No other block device is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.linux,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices and mount namespaces need root"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("losetup", "unshare", "mount", "wipefs", "blkid",
                                                          "sfdisk", "sgdisk", "blkdiscard", "mkfs.ext4")),
                       reason="needs util-linux, gdisk, e2fsprogs (deps/apt-linux.txt)"),
]

NSEXEC = Path(__file__).with_name("nsexec.py")
REPO = Path(__file__).resolve().parents[2]
MIB = 1 << 20


@dataclass(frozen=True)
class Loop:
    dev: str
    backing: Path

    @property
    def node(self) -> list[int]:
        rdev = os.stat(self.dev).st_rdev
        return [os.major(rdev), os.minor(rdev)]


@pytest.fixture
def make_loop(tmp_path: Path) -> Iterator[Callable[[int], Loop]]:
    attached: list[Loop] = []

    def make(size: int) -> Loop:
        backing = tmp_path / f"disk{len(attached)}.img"
        with backing.open("wb") as f:
            f.truncate(size)
        dev = subprocess.run(["losetup", "--find", "--show", str(backing)], check=True, capture_output=True,
                             text=True).stdout.strip()
        loop = Loop(dev, backing)
        attached.append(loop)
        return loop

    try:
        yield make
    finally:
        for loop in attached:
            subprocess.run(["losetup", "-d", loop.dev], check=False)


def in_namespace(op: str, target: Loop, *, extra: tuple[Loop, ...] = (), allow: Loop | None = None
                 ) -> dict[str, Any]:
    loops = (target, *extra)
    spec = {"nodes": {lp.dev: lp.node for lp in loops}, "allow": [(allow or target).dev], "op": op,
            "path": target.dev}
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, str(NSEXEC),
                           json.dumps(spec)], capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # The namespace's /dev held exactly the loop device nodes and nothing else.
    assert outcome["dev"] == sorted(Path(lp.dev).name for lp in loops)
    return outcome


def fill(path: Path, offsets: list[int], pattern: bytes = b"\xa5" * 4096) -> None:
    with path.open("r+b") as f:
        for offset in offsets:
            f.seek(offset)
            f.write(pattern)


def all_zero(path: Path) -> bool:
    with path.open("rb") as f:
        while chunk := f.read(4 * MIB):
            if chunk.count(0) != len(chunk):
                return False
    return True


def probe(path: Path, offset: int = 0) -> int:
    """blkid's exit code on the backing file at an offset: 2 means no signature at all."""
    return subprocess.run(["blkid", "-p", "-O", str(offset), str(path)], capture_output=True).returncode


def test_list_sees_only_the_allowlisted_loop_device(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(64 * MIB)
    out = in_namespace("list", loop)
    assert out["result"] == [{"path": loop.dev, "size": 64 * MIB, "transport": "loop", "fs_signatures": [],
                              "write_zeroes": True, "discard": True}]


def test_overwrite_zeroes_every_byte(make_loop: Callable[[int], Loop]) -> None:
    size = 200 * MIB + 4096  # not a multiple of the write size: the tail is written too
    loop = make_loop(size)
    fill(loop.backing, [0, 17 * MIB, 130 * MIB, size - 4096])
    out = in_namespace("overwrite", loop)
    assert "error" not in out, out
    assert out["last_progress"] == [size, size] and out["progress_calls"] > 2
    assert all_zero(loop.backing)


@pytest.mark.parametrize("op", ["discard", "write_zeroes"])
def test_offloads_leave_zeroes(make_loop: Callable[[int], Loop], op: str) -> None:
    size = 96 * MIB
    loop = make_loop(size)
    fill(loop.backing, [0, 50 * MIB, size - 4096])
    out = in_namespace(op, loop)
    assert "error" not in out, out
    assert out["last_progress"] == [size, size]
    assert all_zero(loop.backing)


def test_secure_discard_a_loop_device_cannot_do_is_unsupported(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(16 * MIB)
    fill(loop.backing, [0])
    out = in_namespace("secure_discard", loop)
    assert out.get("error") == "Unsupported", out
    assert loop.backing.read_bytes()[:4096] == b"\xa5" * 4096


def make_gpt_disk(path: Path) -> tuple[int, int]:
    """A GPT disk with ext4 and vfat partitions, written straight into the backing file."""
    subprocess.run(["sgdisk", "-n1:2048:+60M", "-t1:8300", "-n2:0:0", "-t2:ef00", str(path)], check=True,
                   capture_output=True)
    ext4, vfat = 2048 * 512, 124928 * 512
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", f"offset={ext4}", str(path), "61440k"], check=True)
    subprocess.run(["mkfs.vfat", "--offset", str(vfat // 512), "-n", "EFI", str(path), "65536"], check=True,
                   capture_output=True)
    return ext4, vfat


def test_quick_wipe_removes_every_signature_and_both_gpt_copies(make_loop: Callable[[int], Loop]) -> None:
    size = 128 * MIB
    loop = make_loop(size)
    ext4, vfat = make_gpt_disk(loop.backing)
    fill(loop.backing, [40 * MIB], b"payload!" * 512)  # user data a quick wipe leaves alone
    assert (probe(loop.backing), probe(loop.backing, ext4), probe(loop.backing, vfat)) == (0, 0, 0)
    listed = in_namespace("list", loop)["result"][0]["fs_signatures"]
    assert {"gpt", "ext4", "vfat"} <= set(listed)

    out = in_namespace("wipe", loop)
    assert "error" not in out, out
    assert {"gpt", "PMBR", "ext4", "vfat"} <= set(out["result"])
    assert (probe(loop.backing), probe(loop.backing, ext4), probe(loop.backing, vfat)) == (2, 2, 2)
    listing = subprocess.run(["wipefs", "--json", str(loop.backing)], capture_output=True, text=True).stdout
    assert not listing.strip() or json.loads(listing)["signatures"] == []
    data = loop.backing.read_bytes()
    assert data[:34 * 512].count(0) == 34 * 512  # protective MBR, primary header and entries
    assert data[-33 * 512:].count(0) == 33 * 512  # backup entries and header
    assert b"EFI PART" not in data
    assert data[40 * MIB:40 * MIB + 8] == b"payload!"


def test_device_outside_the_allowlist_is_refused(make_loop: Callable[[int], Loop]) -> None:
    allowed, other = make_loop(32 * MIB), make_loop(32 * MIB)
    fill(other.backing, [0, 16 * MIB])
    before = other.backing.read_bytes()
    for op in ("overwrite", "discard", "write_zeroes", "wipe", "read_head"):
        out = in_namespace(op, other, extra=(allowed,), allow=allowed)
        assert out.get("error") == "DeviceRefused", (op, out)
    assert other.backing.read_bytes() == before
    listed = in_namespace("list", allowed, extra=(other,))["result"]
    assert [d["path"] for d in listed] == [allowed.dev]
