"""Choose the engine from the command line: `--store postgresql://...`, else SQLite in `--state-dir`."""

from __future__ import annotations

from pathlib import Path

from teeth_endpoint.store.errors import StoreError, redact
from teeth_endpoint.store.sql import Store


async def open_store(
    *, url: str | None = None, state_dir: str | Path | None = None, log_retention: int = 100_000
) -> Store:
    """An opened, migrated store. Raises StoreUnavailable (naming the database, never its password)."""
    if url is not None and url.startswith(("postgresql://", "postgres://")):
        from teeth_endpoint.store.pg_db import PgDb  # psycopg only when asked for

        store = Store(PgDb(url), log_retention=log_retention)
    elif url is not None and url.startswith("sqlite://"):
        from teeth_endpoint.store.sqlite_db import SqliteDb

        store = Store(SqliteDb(url.removeprefix("sqlite://")), log_retention=log_retention)
    elif url is not None:
        raise StoreError(f"unknown store {redact(url)}: use postgresql://... or sqlite:///DIR")
    else:
        from teeth_endpoint.store.sqlite_db import SqliteDb

        if state_dir is None:
            raise StoreError("a SQLite store needs --state-dir")
        store = Store(SqliteDb(state_dir), log_retention=log_retention)
    try:
        await store.open()
    except BaseException:
        await store.close()
        raise
    return store
