"""PostgreSQL: psycopg 3's async connection pool, and LISTEN/NOTIFY for what other instances must know.

One extra connection LISTENs on a single channel; `Tx.notify` is `pg_notify` inside the transaction, so
PostgreSQL delivers it only if the transaction commits, to every instance at once. The pool reconnects by
itself after the database comes back; the listener does too (and tells its consumer it may have missed
events, as an empty payload, so it can re-read what it follows).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from teeth_endpoint.store.db import Row
from teeth_endpoint.store.errors import StoreUnavailable, redact

log = logging.getLogger(__name__)
CHANNEL = "teeth_endpoint"
RESYNC = ""  # the events() payload meaning "events may have been missed"


class PgDb:
    dialect = "postgresql"
    shared = True

    def __init__(self, url: str, *, max_size: int = 8, connect_timeout: float = 10.0) -> None:
        self.url = url
        self._timeout = connect_timeout
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=connect_timeout,
            kwargs={"autocommit": True, "connect_timeout": max(int(connect_timeout), 1)},
        )

    async def open(self) -> None:
        try:
            await self._pool.open(wait=True, timeout=self._timeout)
        except (PoolTimeout, psycopg.Error) as exc:
            await self._pool.close()
            raise StoreUnavailable(f"cannot reach the PostgreSQL store {redact(self.url)}: {exc}") from None

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PgTx]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield _PgTx(conn)
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise StoreUnavailable(f"PostgreSQL store {redact(self.url)}: {exc}") from None

    async def events(self, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            except psycopg.Error as exc:
                log.warning("cannot LISTEN on %s: %s; retrying", redact(self.url), exc)
                await asyncio.sleep(1.0)
                continue
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                if ready is not None:
                    ready.set()
                if not first:
                    yield RESYNC
                first = False
                async for note in conn.notifies():
                    yield note.payload
            except psycopg.Error as exc:
                log.warning("lost the LISTEN session on %s: %s; reconnecting", redact(self.url), exc)
            finally:
                await conn.close()


class _PgTx:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = await self._conn.execute(sql.replace("?", "%s"), tuple(args))
        return list(await cur.fetchall()) if cur.description is not None else []

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            async with self._conn.cursor() as cur:
                await cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows])

    async def notify(self, payload: str) -> None:
        await self._conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
