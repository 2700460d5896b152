"""The database goes away while agents report: links stay up, nothing is acknowledged before it is written,
and the endpoint carries on once the database is back. Its own PostgreSQL (the test stops it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakeagent import FakeAgent
from pg_server import PgServer

from teeth_agent.connection import CallTimeout
from teeth_endpoint.api import Endpoint
from teeth_endpoint.plane import ControlPlane
from teeth_endpoint.store import open_store


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.remove()


async def test_statuses_wait_for_the_database_and_are_written_once(own_pg: PgServer) -> None:
    store = await open_store(url=own_pg.new_database())
    async with Endpoint() as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        async with ControlPlane(ep, store) as plane:
            conn, run, _ = await FakeAgent("node-1").connect(url)
            running = {"task_id": "t1", "method": "fake.task", "seq": 1, "state": "running", "percent": 5.0}
            assert await conn.call("task_status", running) == {}
            own_pg.stop()
            final = {"task_id": "t1", "method": "fake.task", "seq": 2, "state": "complete",
                     "result": {"n": 1}}  # fmt: skip
            with pytest.raises(CallTimeout):
                await conn.call("task_status", final, timeout=2.0)  # not acknowledged: not written
            assert not conn.closed and "node-1" in ep.server.links  # the link stays up
            own_pg.restart()
            assert await conn.call("task_status", final, timeout=60.0) == {}  # the agent's re-send
            task = await plane.task("t1")
            assert task is not None and task.state == "complete" and task.status["result"] == {"n": 1}
            assert await store.final_count("t1") == 1
            assert [s["seq"] for s in await store.statuses("t1")] == [1, 2]
            await conn.close()
            await run
    await store.close()
