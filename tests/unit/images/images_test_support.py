"""Fixtures for the image tests (a uniquely named module rather than a conftest: these test directories
are not packages, and conftest modules of several directories would clash by name)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from block_fakes import open_disk
from image_server import ImageServer

from teeth_agent.backend.memory import MemoryHandle


@pytest.fixture(name="server")
async def server_fixture() -> AsyncIterator[ImageServer]:
    async with ImageServer() as srv:
        yield srv


@pytest.fixture(name="disk")
async def disk_fixture() -> AsyncIterator[MemoryHandle]:
    handle = await open_disk(32 << 20)
    yield handle
    await handle.close()
