from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from block_fakes import FileHandle
from image_server import ImageServer


@pytest.fixture
async def server() -> AsyncIterator[ImageServer]:
    async with ImageServer() as srv:
        yield srv


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[FileHandle]:
    handle = FileHandle(tmp_path / "disk.img", 32 << 20)
    yield handle
