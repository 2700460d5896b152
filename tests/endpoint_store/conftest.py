"""One PostgreSQL server for the whole session (each test gets its own database), and SQLite per test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

# The scripted agent of the endpoint's unit tests (a second link for one agent id, on demand).
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "endpoint"))

import pytest
from pg_server import PgServer

from teeth_endpoint.store import Store, open_store


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The same contract over both engines."""
    if request.param == "sqlite":
        opened = await open_store(state_dir=tmp_path / "state", log_retention=50)
    else:
        server: PgServer = request.getfixturevalue("pg")
        opened = await open_store(url=server.new_database(), log_retention=50)
    try:
        yield opened
    finally:
        await opened.close()
