"""Everything but the Linux backend imports on a machine that is not Linux (a developer's macOS laptop).

Run in a fresh interpreter with what macOS lacks taken away before anything is imported: the Linux
backend package itself, Linux-only `os`/`select`/`socket` names (O_DIRECT, epoll, memfd, pidfd, ...),
and reads of /proc and /sys. fcntl, termios and ctypes are POSIX or portable and stay.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HIDE = r'''
import builtins, importlib, importlib.abc, io, os, pkgutil, select, socket, sys

LINUX_ONLY = {os: ["O_DIRECT", "O_NOATIME", "O_PATH", "O_TMPFILE", "posix_fadvise", "sched_getaffinity",
                   "memfd_create", "pidfd_open", "eventfd", "splice", "copy_file_range", "getxattr",
                   "setxattr", "listxattr", "removexattr", "sendfile"],
              select: ["epoll", "EPOLLIN"], socket: ["AF_NETLINK", "SO_PEERCRED", "AF_PACKET"]}
for module, names in LINUX_ONLY.items():
    for name in names:
        if hasattr(module, name):
            delattr(module, name)

class NoLinuxBackend(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "teeth_agent.backend.linux" or name.startswith("teeth_agent.backend.linux."):
            raise ImportError(f"{name} is Linux-only (hidden by the portability test)")
        return None

sys.meta_path.insert(0, NoLinuxBackend())
real_open, real_io_open = builtins.open, io.open

def guarded(file, *a, **k):
    if isinstance(file, (str, os.PathLike)) and str(file).startswith(("/proc/", "/sys/")):
        raise OSError(f"{file}: no such file (not Linux)")
    return real_open(file, *a, **k)

builtins.open = guarded
io.open = guarded

failed = []
count = 0
LINUX_BY_NATURE = {"teeth_agent.netconfig.program", "teeth_agent.netconfig.writer"}
for top in ("simulator", "teeth_agent"):
    package = importlib.import_module(top)
    for info in pkgutil.walk_packages(package.__path__, top + "."):
        # The Linux backend, and the ramdisk's network writer on top of it (systemd-networkd, /run), are
        # Linux by nature; the network planner itself (teeth_agent.netconfig.plan and below) is not.
        if info.name.startswith("teeth_agent.backend.linux") or info.name in LINUX_BY_NATURE:
            continue
        count += 1
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
print(count)
print("\n".join(failed))
sys.exit(1 if failed else 0)
'''


def test_every_module_but_the_linux_backend_imports_without_linux() -> None:
    r = subprocess.run([sys.executable, "-c", HIDE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert int(r.stdout.split()[0]) > 100  # it walked the packages, not an empty list
