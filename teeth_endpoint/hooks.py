"""What the agent server tells whoever keeps records (the control plane), at the few points that matter.

The server stays an in-memory router; these calls are its only contact with durability. A status hook
may return an awaitable: the agent's `task_status` is answered (acknowledged) only once it completes.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from teeth_agent.connection import Connection
from teeth_agent.protocol import JsonObject
from teeth_endpoint.wire import Handshake, LogRecord, TaskStatus


class LinkHooks(Protocol):
    def check_credential(
        self, params: JsonObject, peer: str, tls_subject: str | None
    ) -> Awaitable[str | None] | None:
        """Why this handshake's credential is refused (None: accepted); None instead of an awaitable:
        the server's own shared-token check applies."""

    def link_up(self, agent_id: str, conn: Connection, hs: Handshake) -> None: ...

    def link_down(self, agent_id: str, conn: Connection) -> None: ...

    def status_received(self, agent_id: str, status: TaskStatus) -> Awaitable[None] | None: ...

    def log_received(self, record: LogRecord) -> None: ...
