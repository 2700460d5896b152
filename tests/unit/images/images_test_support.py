"""Fixtures for the image tests (a uniquely named module rather than a conftest: these test directories
are not packages, and conftest modules of several directories would clash by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from block_fakes import FileHandle
from image_server import ImageServer


@pytest.fixture(name="server")
async def server_fixture() -> AsyncIterator[ImageServer]:
    async with ImageServer() as srv:
        yield srv


@pytest.fixture(name="disk")
def disk_fixture(tmp_path: Path) -> Iterator[FileHandle]:
    handle = FileHandle(tmp_path / "disk.img", 32 << 20)
    yield handle
