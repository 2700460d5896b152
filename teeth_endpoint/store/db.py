"""The little an engine must offer the store: transactions of `?`-placeholder statements, and events.

Both engines take the same SQL (SQLite and PostgreSQL agree on ON CONFLICT, RETURNING and the types used
here); the PostgreSQL adapter rewrites `?` to `%s`, so no statement may contain a literal `?` or `%`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Row = tuple[Any, ...]


class Tx(Protocol):
    async def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def notify(self, payload: str) -> None:
        """Tell every instance's `events()`, once this transaction commits (no-op on one instance)."""


class Db(Protocol):
    dialect: str  # "sqlite" or "postgresql"
    shared: bool  # several endpoint instances may use it at once

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    def events(self, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        """Payloads notified by any instance (ours included), until cancelled."""
        ...
