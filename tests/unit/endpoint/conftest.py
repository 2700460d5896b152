"""Real sockets on 127.0.0.1 for connection and endpoint tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from endpoint_netpair import TcpPair


@pytest.fixture
async def tcp() -> AsyncIterator[TcpPair]:
    pair = TcpPair()
    await pair.start()
    yield pair
    assert pair.server is not None
    pair.server.close()
