"""Files the agent keeps in its state directory: one atomic write, and the directory's own checks.

`write_atomic(path, data)` writes a temporary file beside `path`, fsyncs it, renames it over `path` and
fsyncs the directory: after a crash `path` holds the old content or the new, never half of each. The
temporary name is unpredictable and opened with `O_CREAT|O_EXCL|O_NOFOLLOW`, so a symlink or file planted
at any name in the directory is never followed or written through; on any failure it is removed.

`private_dir(path)` creates the state directory 0700 (parents too) and refuses one owned by another user;
an existing one of ours that others could read or write is narrowed to 0700.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeDirectory(OSError):
    """The directory is not one this process may trust with its state."""


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600, fsync: bool = True) -> os.stat_result:
    """Replace `path` with `data`; returns the new file's stat (inode and mtime survive the rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, _FLAGS, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        fsync_dir(path.parent)
    return st


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """`path` as a directory only this user can use: created 0700, or checked (and narrowed) if it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    uid = os.geteuid()
    if st.st_uid != uid:
        raise UnsafeDirectory(f"{path} is owned by uid {st.st_uid}, not by this user (uid {uid})")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path
