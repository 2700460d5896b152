"""Look inside a built initramfs: unpack it, follow links as the booted system would, list its modules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath
from typing import Final

from testbed.ramdisk.config import RamdiskError

# Leading bytes of each compressor the element can use -> the command that decompresses to stdout.
_DECOMPRESSORS: Final = (
    (b"\x28\xb5\x2f\xfd", ["zstd", "-d", "-c", "-q"]),
    (b"\xfd7zXZ\x00", ["xz", "-d", "-c"]),
    (b"\x1f\x8b", ["gzip", "-d", "-c"]),
)
_MAX_LINKS: Final = 40


def decompressor_for(head: bytes) -> list[str]:
    for magic, command in _DECOMPRESSORS:
        if head.startswith(magic):
            return command
    raise RamdiskError(f"unknown initramfs compression (first bytes {head[:6].hex()})")


def unpack(initramfs: Path, dest: Path) -> None:
    """Unpack into `dest` (an empty directory). Needs root to keep ownership, as the image has it."""
    with initramfs.open("rb") as stream:
        command = decompressor_for(stream.read(8))
    with initramfs.open("rb") as source:
        decompress = subprocess.Popen(command, stdin=source, stdout=subprocess.PIPE)
        extract = subprocess.run(
            ["cpio", "--extract", "--make-directories", "--preserve-modification-time",
             "--no-absolute-filenames", "--quiet"],
            stdin=decompress.stdout, cwd=dest, capture_output=True, check=False,
        )
        if decompress.stdout is not None:
            decompress.stdout.close()
        decompress.wait()
    if decompress.returncode != 0 or extract.returncode != 0:
        raise RamdiskError(f"unpacking {initramfs} failed: {extract.stderr.decode(errors='replace')}")


def resolve_in_root(root: Path, path: str) -> PurePosixPath | None:
    """Follow symlinks the way the booted system would: absolute targets are relative to `root`.

    Returns the final path inside the image, or None if it does not exist (or links loop).
    """
    parts = list(PurePosixPath(path).parts[1:])
    current = PurePosixPath("/")
    for _ in range(_MAX_LINKS * 8):
        if not parts:
            return current
        name = parts.pop(0)
        candidate = current.parent if name == ".." else current / name
        on_disk = root / str(candidate).lstrip("/")
        if on_disk.is_symlink():
            target = PurePosixPath(os.readlink(on_disk))
            base = PurePosixPath("/") if target.is_absolute() else current
            parts = [*(base / target).parts[1:], *parts]
            current = PurePosixPath("/")
        elif on_disk.exists() or on_disk.is_dir():
            current = candidate
        else:
            return None
    return None


def find_tool(root: Path, tool: str) -> PurePosixPath | None:
    """Where a shell in the image would find `tool` on the default root PATH, or None."""
    for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        found = resolve_in_root(root, f"{directory}/{tool}")
        if found is not None and os.access(root / str(found).lstrip("/"), os.X_OK):
            return found
    return None


def kernel_modules(root: Path) -> dict[str, set[str]]:
    """Per kernel version, the names of the modules it can use, loadable or built in ("-" read as "_")."""
    found: dict[str, set[str]] = {}
    for moddir in sorted((root / "lib" / "modules").glob("*")):
        names: set[str] = set()
        for listing in ("modules.dep", "modules.builtin"):
            path = moddir / listing
            if path.is_file():
                for line in path.read_text().splitlines():
                    module = line.split(":", 1)[0].strip()
                    if module:
                        names.add(PurePosixPath(module).name.split(".ko")[0].replace("-", "_"))
        found[moddir.name] = names
    return found
