"""Checks that stop a ramdisk build at once, before it mounts anything, with a message that says what is
missing and how to provide it.

The checks run against a `Host`: a table of plain functions. `Host.real()` is this machine; tests pass
their own functions to play a machine without root, loop devices or a mirror.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from testbed.ramdisk.config import RamdiskConfig, RamdiskError

# Host programs disk-image-create and the element's cleanup step call, and the package providing each.
HOST_TOOLS: Final = {
    "sudo": "sudo",
    "debootstrap": "debootstrap",
    "qemu-img": "qemu-utils",
    "mksquashfs": "squashfs-tools",
    "kpartx": "kpartx",
    "cpio": "cpio",
    "losetup": "mount",
    "mkfs.ext4": "e2fsprogs",
    "fstrim": "util-linux",
    "zstd": "zstd",
    "xz": "xz-utils",
}


def _fetch(url: str, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        response.read(1)


def _has_free_loop() -> bool:
    done = subprocess.run(["losetup", "--find"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.startswith("/dev/loop")


def _passwordless_sudo() -> bool:
    return subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0


@dataclass(frozen=True)
class Host:
    euid: Callable[[], int]
    which: Callable[[str], str | None]
    exists: Callable[[str], bool]
    passwordless_sudo: Callable[[], bool]
    free_loop_device: Callable[[], bool]
    fetch: Callable[[str, float], None]

    @classmethod
    def real(cls) -> Host:
        return cls(
            euid=os.geteuid,
            which=shutil.which,
            exists=os.path.exists,
            passwordless_sudo=_passwordless_sudo,
            free_loop_device=_has_free_loop,
            fetch=_fetch,
        )


def missing_tools(host: Host, tools: Iterable[str] = HOST_TOOLS) -> list[str]:
    return [tool for tool in tools if host.which(tool) is None]


def privilege_problem(host: Host) -> str | None:
    if host.euid() == 0:
        return None
    if host.which("sudo") is not None and host.passwordless_sudo():
        return None
    return (
        "not root: disk-image-create mounts filesystems and attaches loop devices through sudo; "
        "run the build as root (sudo make ramdisk) or give this user passwordless sudo"
    )


def loop_problem(host: Host) -> str | None:
    if not host.exists("/dev/loop-control"):
        return (
            "no loop devices: /dev/loop-control is missing; load the driver (modprobe loop) or, in a "
            "container, run it privileged with /dev/loop* available"
        )
    if not host.free_loop_device():
        return "no free loop device: `losetup --find` found none; detach unused ones (losetup -D) or add more"
    return None


def mirror_problems(host: Host, config: RamdiskConfig, timeout: float = 15.0) -> list[str]:
    problems = []
    checks = [
        ("DIB_DISTRIBUTION_MIRROR", config.mirror, config.release),
        ("DIB_DEBIAN_SECURITY_MIRROR", config.security_mirror, f"{config.release}-security"),
    ]
    for variable, mirror, suite in checks:
        url = f"{mirror.rstrip('/')}/dists/{suite}/Release"
        try:
            host.fetch(url, timeout)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            problems.append(
                f"mirror not reachable: {url} ({exc}); set {variable} to a reachable Debian mirror "
                "(an offline mirror works: see elements/teeth-agent/README.rst)"
            )
    return problems


def check_host(config: RamdiskConfig, host: Host, disk_image_create: Path) -> None:
    """Raise RamdiskError naming every problem found, or return when a build can start."""
    problems: list[str] = []
    if not host.exists(str(disk_image_create)):
        problems.append(
            f"disk-image-create not found at {disk_image_create}: "
            "install diskimage-builder into the venv (pip install diskimage-builder)"
        )
    missing = missing_tools(host)
    if missing:
        packages = sorted({HOST_TOOLS[tool] for tool in missing})
        problems.append(
            f"missing host tools: {', '.join(missing)}; install them: apt-get install {' '.join(packages)}"
        )
    for problem in (privilege_problem(host), loop_problem(host)):
        if problem is not None:
            problems.append(problem)
    if not config.elements.joinpath("teeth-agent", "element-deps").is_file():
        problems.append(f"the teeth-agent element is missing under {config.elements}")
    problems.extend(mirror_problems(host, config))
    if problems:
        raise RamdiskError("cannot build the ramdisk:\n  - " + "\n  - ".join(problems))
