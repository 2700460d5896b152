"""Loop devices for the root-only tests, and running backend operations in a private /dev.

`in_namespace` runs nsexec.py under `unshare --mount --propagation private`: a tmpfs on /dev holding only
the named loop devices' nodes, the real LinuxBackend with `only_devices` naming the allowed one. Results
are checked from the host through the loop device's backing file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NSEXEC = Path(__file__).with_name("nsexec.py")
REPO = Path(__file__).resolve().parents[2]
MIB = 1 << 20
TOOLS = ("losetup", "unshare", "mount", "wipefs", "blkid", "sfdisk", "sgdisk", "blkdiscard", "mkfs.ext4",
         "mkfs.vfat")

# For a module's `pytestmark`: these tests need root and the tools of deps/apt-linux.txt.
NEEDS_ROOT = [
    pytest.mark.linux,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices and mount namespaces need root"),
    pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                       reason="needs util-linux, gdisk, e2fsprogs, dosfstools (deps/apt-linux.txt)"),
]


@dataclass(frozen=True)
class Loop:
    dev: str
    backing: Path

    @property
    def node(self) -> list[int]:
        rdev = os.stat(self.dev).st_rdev
        return [os.major(rdev), os.minor(rdev)]

    def fill(self, offsets: list[int], pattern: bytes = b"\xa5" * 4096) -> None:
        with self.backing.open("r+b") as f:
            for offset in offsets:
                f.seek(offset)
                f.write(pattern)

    def all_zero(self) -> bool:
        with self.backing.open("rb") as f:
            while chunk := f.read(4 * MIB):
                if chunk.count(0) != len(chunk):
                    return False
        return True

    def probe(self, offset: int = 0) -> int:
        """blkid's exit code on the backing file at an offset: 2 means no signature at all."""
        argv = ["blkid", "-p", "-O", str(offset), str(self.backing)]
        return subprocess.run(argv, capture_output=True).returncode


def attach(backing: Path, size: int) -> Loop:
    with backing.open("wb") as f:
        f.truncate(size)
    dev = subprocess.run(["losetup", "--find", "--show", str(backing)], check=True, capture_output=True,
                         text=True).stdout.strip()
    return Loop(dev, backing)


def detach(loop: Loop) -> None:
    subprocess.run(["losetup", "-d", loop.dev], check=False)


def in_namespace(op: str, target: Loop, *, extra: tuple[Loop, ...] = (),
                 allow: Loop | tuple[Loop, ...] | None = None, params: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Run `op` on `target` in a private /dev holding target and `extra`; `allow` defaults to target."""
    loops = (target, *extra)
    allowed = allow if isinstance(allow, tuple) else (allow or target,)
    spec = {"nodes": {lp.dev: lp.node for lp in loops}, "allow": [lp.dev for lp in allowed], "op": op,
            "path": target.dev, "params": params or {}}
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, str(NSEXEC),
                           json.dumps(spec)], capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO),
                               "TEETH_HOST_MNTNS": os.readlink("/proc/self/ns/mnt")})
    assert done.returncode == 0, done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # The namespace's /dev held exactly the loop device nodes and nothing else.
    assert outcome["dev"] == sorted(Path(lp.dev).name for lp in loops)
    return outcome


def make_gpt_disk(path: Path) -> tuple[int, int]:
    """A GPT disk with ext4 and vfat partitions, written straight into the backing file; their offsets."""
    subprocess.run(["sgdisk", "-n1:2048:+60M", "-t1:8300", "-n2:0:0", "-t2:ef00", str(path)], check=True,
                   capture_output=True)
    ext4, vfat = 2048 * 512, 124928 * 512
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", f"offset={ext4}", str(path), "61440k"], check=True)
    subprocess.run(["mkfs.vfat", "--offset", str(vfat // 512), "-n", "EFI", str(path), "65536"], check=True,
                   capture_output=True)
    return ext4, vfat
