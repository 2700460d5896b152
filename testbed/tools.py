"""Running the host tools the testbed builds with, with errors that say what to install.

The testbed runs on the host (never in the ramdisk), so it starts its tools here rather than through
the agent's exec module; argv lists only, never a shell.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

# tool -> the Debian package that ships it (deps/apt-testbed.txt lists them all)
PACKAGES = {
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "mke2fs": "e2fsprogs",
    "sfdisk": "fdisk",
    "grub-mkimage": "grub-pc-bin + grub-common",
    "mkfs.vfat": "dosfstools",
    "mcopy": "mtools",
    "mmd": "mtools",
    "busybox": "busybox-static",
    "grub-mkrescue": "grub-common + grub-pc-bin + grub-efi-amd64-bin",
    "xorriso": "xorriso",
}


class ToolError(RuntimeError):
    """A host tool is missing or failed; the message names the tool, the package and the output."""


def require(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if not found:
        package = PACKAGES.get(tool, "?")
        raise ToolError(f"{tool} not found: install Debian package {package} (see deps/apt-testbed.txt)")
    return found


def run(
    argv: Sequence[str], *, timeout: float = 300, cwd: Path | None = None, stdin: str | None = None
) -> str:
    """Run a tool to completion; its stdout on success, a ToolError with its stderr otherwise."""
    exe = require(argv[0])
    try:
        done = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                              cwd=cwd, input=stdin, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{argv[0]} did not finish within {timeout:.0f} s: {' '.join(argv)}") from exc
    if done.returncode != 0:
        raise ToolError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout
