"""Downloading firmware images and proving them before anything flashes them.

Reuses the image pipeline's HTTP client (mirrors, Range resume, timeouts). The bytes are hashed as they
arrive and written to a private file; on a sha256 mismatch, a size overrun or any download failure the file
is deleted and an error raised — a bad image never reaches `apply_firmware`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from teeth_agent.firmware.manifest import FirmwareImage
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.images.errors import ChecksumMismatch, ImageTooLarge

MAX_IMAGE_BYTES = 512 << 20  # firmware lands on a tmpfs in the ramdisk; nothing legitimate is this big

# image, destination file -> the verified file (the default is `fetch_image`; tests pass their own).
Fetch = Callable[[FirmwareImage, Path], Awaitable[Path]]


def _open_private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def remove(path: Path) -> None:
    """Delete a fetched image; a tiny syscall, fine to run inline even while cancelling."""
    path.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def _download(image: FirmwareImage, dest: Path, options: HttpOptions) -> str:
    digest = hashlib.sha256()
    fd = await asyncio.to_thread(_open_private, dest)
    try:
        size = 0
        async for chunk in HttpDownload(image.urls, options).chunks():
            size += len(chunk)
            if size > MAX_IMAGE_BYTES:
                raise ImageTooLarge(f"firmware image exceeds {MAX_IMAGE_BYTES} bytes")
            digest.update(chunk)
            await asyncio.to_thread(_write_all, fd, chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


async def fetch_image(image: FirmwareImage, dest: Path, options: HttpOptions | None = None) -> Path:
    """Download `image` to `dest` and verify its sha256; raise (and leave no file) otherwise."""
    try:
        actual = await _download(image, dest, options or HttpOptions(read_timeout=60.0, max_resumes=3))
        if actual != image.sha256:
            raise ChecksumMismatch("sha256", image.sha256, actual)
    except BaseException:
        remove(dest)
        raise
    return dest
