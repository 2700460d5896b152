"""SQLite in the state directory: stdlib `sqlite3`, WAL, one connection on one worker thread.

The event loop never blocks on the disk: every statement runs on the store's own thread, and an asyncio
lock keeps one transaction at a time on the connection (SQLite has one writer anyway). `synchronous=FULL`
makes a commit survive power loss, not just a crash: an acknowledged status must be on disk. Events go to
in-process subscribers only: SQLite is the one-instance store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from teeth_endpoint.store.db import Row
from teeth_endpoint.store.errors import StoreUnavailable

T = TypeVar("T")
DB_NAME = "endpoint.sqlite3"


class SqliteDb:
    dialect = "sqlite"
    shared = False

    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / DB_NAME
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="teeth-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._subscribers: set[asyncio.Queue[str]] = set()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        def connect() -> sqlite3.Connection:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            return conn

        try:
            self._conn = await self._run(connect)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open the SQLite store {self.path}: {exc}") from None

    async def close(self) -> None:
        if self._conn is not None:
            async with self._lock:
                await self._run(self._conn.close)
            self._conn = None
        self._thread.shutdown(wait=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        conn = self._conn
        if conn is None:
            raise StoreUnavailable("the SQLite store is closed")
        async with self._lock:
            tx = _SqliteTx(self, conn)
            try:
                await self._run(_begin, conn)
                yield tx
            except BaseException:
                # Shielded: a cancelled caller (a batcher stopping) must still leave the connection clean.
                await asyncio.shield(self._run(_rollback, conn))
                raise
            await asyncio.shield(self._run(conn.execute, "COMMIT"))
        for payload in tx.notes:
            for queue in self._subscribers:
                queue.put_nowait(payload)

    async def events(self, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers.add(queue)
        if ready is not None:
            ready.set()
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)


def _begin(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:  # left open by a caller cancelled between BEGIN and its end
        conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class _SqliteTx:
    def __init__(self, db: SqliteDb, conn: sqlite3.Connection) -> None:
        self._db = db
        self._conn = conn
        self.notes: list[str] = []

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        def run() -> list[Row]:
            return self._conn.execute(sql, tuple(args)).fetchall()

        return await self._db._run(run)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self._db._run(self._conn.executemany, sql, [tuple(r) for r in rows])

    async def notify(self, payload: str) -> None:
        self.notes.append(payload)
