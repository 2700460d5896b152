"""A writer for the `newc` cpio format the Linux kernel unpacks as an initramfs.

Pure bytes out, so the tenant initramfs is built without root and without the cpio tool: every entry
is owned by root and has exactly the mode we give it, whoever runs the build.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass

TRAILER = "TRAILER!!!"


@dataclass(frozen=True)
class Entry:
    """One archive member; `path` is relative ("bin/sh"), `data` is the file body or symlink target."""

    path: str
    mode: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not self.path or self.path.startswith("/") or ".." in self.path.split("/"):
            raise ValueError(f"cpio entry path {self.path!r} must be relative and stay inside the archive")
        if stat.S_IFMT(self.mode) not in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):
            raise ValueError(f"cpio entry {self.path!r}: only files, directories and symlinks are supported")


def directory(path: str, perm: int = 0o755) -> Entry:
    return Entry(path, stat.S_IFDIR | perm)


def file(path: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(path, stat.S_IFREG | perm, data)


def symlink(path: str, target: str) -> Entry:
    return Entry(path, stat.S_IFLNK | 0o777, target.encode())


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _member(ino: int, entry: Entry) -> bytes:
    name = entry.path.encode() + b"\0"
    nlink = 2 if stat.S_ISDIR(entry.mode) else 1
    fields = [ino, entry.mode, 0, 0, nlink, 0, len(entry.data), 0, 0, 0, 0, len(name), 0]
    header = b"070701" + b"".join(b"%08X" % f for f in fields)
    head = header + name
    return head + _pad4(len(head)) + entry.data + _pad4(len(entry.data))


def archive(entries: Iterable[Entry]) -> bytes:
    """The whole archive, members in the given order (parents must come before their children)."""
    out = bytearray()
    seen: set[str] = set()
    for ino, entry in enumerate(entries, start=1):
        if entry.path in seen:
            raise ValueError(f"cpio entry {entry.path!r} appears twice")
        seen.add(entry.path)
        out += _member(ino, entry)
    out += _member(0, Entry(TRAILER, stat.S_IFREG))
    return bytes(out)


def read(data: bytes) -> list[tuple[str, int, bytes]]:
    """(path, mode, body) of each member of a newc archive, for inspecting initramfs images."""
    members: list[tuple[str, int, bytes]] = []
    pos = 0
    while True:
        if data[pos: pos + 6] != b"070701":
            raise ValueError(f"cpio: no newc header at offset {pos}")
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        body_at = pos + 110 + namesize + (-(110 + namesize) % 4)
        if name == TRAILER:
            return members
        members.append((name, mode, data[body_at: body_at + filesize]))
        pos = body_at + filesize + (-filesize % 4)
