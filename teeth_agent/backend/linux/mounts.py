"""Read-only mounts of an image's partitions, always unmounted on the way out."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from teeth_agent.backend.linux.exec import Runner

MOUNT_TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def mounted(runner: Runner, device: str, *, writable: bool = False) -> AsyncIterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="teeth-mnt-"))
    try:
        await runner.run(
            ["mount", "-o", "rw" if writable else "ro", device, str(where)], timeout=MOUNT_TIMEOUT
        )
        try:
            yield where
        finally:
            await runner.run(["umount", str(where)], timeout=MOUNT_TIMEOUT)
    finally:
        shutil.rmtree(where, ignore_errors=True)
