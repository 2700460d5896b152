"""Host side of the standby loop-device tests: attach loop devices (always detached), run one backend
operation in the private /dev (standby_ns.py), and read results back from the backing files.

Root only; every block device touched is a loop device this module attached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from linux_loops import MIB, Loop
from standby_devnodes import is_partition_node

HERE = Path(__file__).resolve().parent
LINUX_TESTS = HERE.parent
REPO = HERE.parents[2]
NS_SCRIPT = HERE / "standby_ns.py"
TOOLS = ("losetup", "unshare", "mount", "sfdisk", "sgdisk", "partprobe", "mke2fs", "xorriso", "mkfs.vfat",
         "mcopy", "qemu-img", "blkid", "grub-install")

# For a module's `pytestmark`: root, and the tools of deps/apt-linux.txt + deps/apt-standby.txt.
NEEDS_ROOT = [
    pytest.mark.linux,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices and mount namespaces need root"),
    pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                       reason=f"needs {', '.join(TOOLS)} (deps/apt-linux.txt, deps/apt-standby.txt)"),
]

AttachLoop = Callable[..., Loop]
DM_CONTROL = "char 10:236"


def _attach(backing: Path, sector_size: int) -> Loop:
    argv = ["losetup", "--find", "--show", "--sector-size", str(sector_size), str(backing)]
    dev = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
    if not dev.startswith("/dev/loop"):
        raise RuntimeError(f"losetup gave {dev!r}, not a loop device")
    return Loop(dev, backing)


@pytest.fixture
def attach_loop(tmp_path: Path) -> Iterator[AttachLoop]:
    """attach_loop(size, content=None, sector_size=512): a loop device over a new file of `size` bytes
    starting with `content` (written before attaching, so no cache holds older bytes)."""
    attached: list[Loop] = []

    def make(size: int, content: bytes | Path | None = None, sector_size: int = 512) -> Loop:
        backing = tmp_path / f"loop{len(attached)}.img"
        with backing.open("wb") as f:
            if content is not None:
                f.write(content if isinstance(content, bytes) else content.read_bytes())
            f.truncate(size)
        loop = _attach(backing, sector_size)
        attached.append(loop)
        return loop

    try:
        yield make
    finally:
        for loop in attached:
            subprocess.run(["losetup", "-d", loop.dev], check=False)


def in_standby_namespace(op: str, loop: Loop, **args: Any) -> dict[str, Any]:
    """Run `op` (see standby_ns.op) on `loop` in a private /dev that holds only it (and its partitions)."""
    spec = {"nodes": {loop.dev: loop.node}, "allow": [loop.dev], "op": op, "args": args}
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, str(NS_SCRIPT), json.dumps(spec)],
        capture_output=True, text=True, timeout=900, cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(LINUX_TESTS), str(HERE)]),
             "TEETH_HOST_MNTNS": os.readlink("/proc/self/ns/mnt")},
    )
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    name = Path(loop.dev).name
    # Only the loop device was there to start with; afterwards the only block nodes are it and its own
    # partitions. Tools leave a little behind: a plain file from writing to the absent /dev/null, and
    # grub-probe's libdevmapper creates /dev/mapper/control (device-mapper's control node, 10:236) to
    # list mapped devices. None of these reaches a disk.
    assert outcome["dev"] == [name]
    for entry, kind in outcome["dev_after"].items():
        ours = entry == name or is_partition_node(entry, [loop.dev])
        allowed = kind in ("file", "dir") or (entry, kind) == ("mapper/control", DM_CONTROL)
        assert allowed or (kind == "block" and ours), outcome
    return outcome


def ok(outcome: dict[str, Any]) -> Any:
    assert "error" not in outcome, outcome
    return outcome["result"]


def stage_files(files: Mapping[str, bytes], where: Path) -> str:
    """Lay `files` out under `where` (visible in the namespace: only /dev is private there)."""
    for relative, data in files.items():
        (where / relative).parent.mkdir(parents=True, exist_ok=True)
        (where / relative).write_bytes(data)
    return str(where)


def probe(backing: Path, offset: int) -> dict[str, str]:
    """blkid's low-level probe of whatever filesystem starts at `offset` in the backing file."""
    argv = ["blkid", "-p", "-o", "export", "-O", str(offset), str(backing)]
    lines = subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


__all__ = ["MIB", "AttachLoop", "attach_loop", "in_standby_namespace", "ok", "probe", "stage_files"]
