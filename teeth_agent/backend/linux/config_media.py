"""Files from a labelled filesystem (a config drive, the virtual-media ISO), mounted read-only for a moment.

The mount is `ro,nosuid,nodev,noexec` on a private temporary directory and is always undone: nothing on
such media runs, and nothing of it stays visible.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.linux.exec import Runner

TOOL_TIMEOUT = 30.0
MAX_FILE = 1 << 20  # network_data.json and a token are small; anything larger is not what we look for


class MediaError(Exception):
    """The media or a file on it cannot be read; the message says which and why."""


async def find_by_label(runner: Runner, label: str) -> str | None:
    for candidate in dict.fromkeys((label, label.lower(), label.upper())):
        done = await runner.run(["blkid", "-L", candidate], timeout=TOOL_TIMEOUT, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip().splitlines()[0]
    return None


@contextlib.asynccontextmanager
async def mounted(runner: Runner, device: str) -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="teeth-media-") as scratch:
        try:
            await runner.run(["mount", "-o", "ro,nosuid,nodev,noexec", device, scratch], timeout=TOOL_TIMEOUT)
        except ToolError as exc:
            raise MediaError(f"cannot mount {device}: {exc}") from exc
        try:
            yield Path(scratch)
        finally:
            await runner.run(["umount", scratch], timeout=TOOL_TIMEOUT, check=False)


def read_inside(root: Path, relative: str) -> bytes:
    """A regular file under `root`, never through a symlink or `..` that leaves it."""
    parts = PurePosixPath(relative).parts
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        raise MediaError(f"{relative}: not a path inside the media")
    path = root.joinpath(*parts)
    resolved = path.resolve()
    if root.resolve() not in (resolved, *resolved.parents) or not resolved.is_file():
        raise MediaError(f"{relative}: no such file on the media")
    if resolved.stat().st_size > MAX_FILE:
        raise MediaError(f"{relative}: larger than {MAX_FILE} bytes")
    return resolved.read_bytes()
