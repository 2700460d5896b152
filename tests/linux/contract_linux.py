"""The Linux backend as a contract-suite provider: one loop device behind its allowlist, in a private /dev.

Shape of a `tests/contract/backends/*.py` module (see tests/contract/conftest.py). Active only when
TEETH_CONTRACT_LOOP="/dev/loopN:MAJOR:MINOR" is set, and then only in a process whose mount namespace
differs from the launcher's (TEETH_CONTRACT_HOST_MNTNS): there it mounts a tmpfs over /dev holding just
that loop device's node, so the real backend cannot reach any other disk even by mistake.
tests/linux/test_contract_on_loop.py sets all this up; every other run skips it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import AsyncIterator

from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.factory import make_linux_backend

NAME = "linux"
ENV = "TEETH_CONTRACT_LOOP"
HOST_NS_ENV = "TEETH_CONTRACT_HOST_MNTNS"


def _spec() -> tuple[str, int, int] | None:
    value = os.environ.get(ENV)
    if not value:
        return None
    path, major, minor = value.split(":")
    return path, int(major), int(minor)


def _own_mount_namespace() -> bool:
    # The launcher passes its own namespace id; ours must differ (unshare gave this process a new one).
    launcher = os.environ.get(HOST_NS_ENV)
    try:
        return bool(launcher) and os.readlink("/proc/self/ns/mnt") != launcher
    except OSError:
        return False


def unavailable() -> str | None:
    if _spec() is None:
        return f"needs a loop device in a private /dev ({ENV}; run tests/linux/test_contract_on_loop.py)"
    if not _own_mount_namespace():
        return "refusing to replace /dev outside a private mount namespace"
    return None


def _private_dev(path: str, major: int, minor: int) -> None:
    if sorted(os.listdir("/dev")) == [os.path.basename(path)]:
        return  # set up by an earlier test of this session
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", "/dev"], check=True)
    os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(major, minor))


@contextlib.asynccontextmanager
async def provide() -> AsyncIterator[tuple[LinuxBackend, str]]:
    spec = _spec()
    if spec is None or not _own_mount_namespace():
        raise RuntimeError(unavailable())
    _private_dev(*spec)
    yield make_linux_backend(only_devices=[spec[0]]), spec[0]
