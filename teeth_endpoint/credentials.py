"""Per-agent credentials: enrollment issues a token for one agent_id; a handshake may claim only that id.

    creds = Credentials(store, fleet_token=None)      # or the shared lab token, still accepted
    token = await creds.enroll("node-1")              # shown once; the store keeps its SHA-256
    verdict = await creds.check("node-1", token, tls_subject=None)

An agent enrolled (with a token or a bound TLS subject) must show that credential: the fleet token no
longer does for it. An agent not enrolled may use the fleet token when one is configured. A mutual-TLS
client certificate's subject CN can be bound to an agent id (`bind_subject`); that link then needs no
token, and no other id may be claimed over it.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

from teeth_endpoint.http_api.auth import new_token, token_hash
from teeth_endpoint.store import Store


@dataclass(frozen=True)
class Verdict:
    ok: bool
    why: str = ""


class Credentials:
    def __init__(
        self, store: Store, *, fleet_token: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._fleet_hash = token_hash(fleet_token) if fleet_token else None
        self._clock = clock

    @property
    def open(self) -> bool:
        """No fleet token: agents that are not enrolled need no credential (a lab without secrets)."""
        return self._fleet_hash is None

    async def enroll(self, agent_id: str, *, ttl: float | None = None, replace: bool = False) -> str:
        if replace:
            await self._store.revoke("agent", agent_id)
        token = new_token()
        now = self._clock()
        await self._store.add_credential(token_hash(token), "agent", agent_id, now,
                                         None if ttl is None else now + ttl)  # fmt: skip
        return token

    async def bind_subject(self, subject: str, agent_id: str) -> None:
        """A TLS client certificate whose subject CN is `subject` speaks for `agent_id`."""
        await self._store.add_credential(f"tls:{subject}", "tls", agent_id, self._clock())

    async def check(self, agent_id: str, token: str | None, *, tls_subject: str | None = None) -> Verdict:
        if tls_subject is not None:
            bound = await self._store.credential(f"tls:{tls_subject}")
            if bound is not None:
                if bound[1] != agent_id:
                    return Verdict(False, f"the TLS subject {tls_subject!r} is bound to another agent id")
                return Verdict(True)
        enrolled = await self._store.has_credentials("agent", agent_id) or await self._store.has_credentials(
            "tls", agent_id
        )
        if token is not None:
            found = await self._store.credential(token_hash(token))
            if found is not None and found[0] == "agent":
                _, subject, expires = found
                if subject != agent_id:
                    return Verdict(False, "this credential names another agent id")
                if expires is not None and expires <= self._clock():
                    return Verdict(False, "the agent token has expired")
                return Verdict(True)
        if enrolled:
            return Verdict(False, "this agent id is enrolled: its own credential is required")
        if self._fleet_hash is None:
            return Verdict(True)
        if token is not None and hmac.compare_digest(token_hash(token), self._fleet_hash):
            return Verdict(True)
        return Verdict(False, "handshake token missing or wrong")
