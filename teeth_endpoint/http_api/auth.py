"""Bearer tokens for the API and for agents, kept only as hashes.

A token is 32 random bytes, URL-safe base64. What is kept (in memory for `--api-token-file`, in the store's
`credentials` table for issued ones) is its SHA-256: a copy of the database lets nobody in. SHA-256 and not
a slow password hash because the tokens are random, not chosen by people: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from teeth_endpoint.store import Store


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiAuth:
    """Who may use the API: the `--api-token-file` token and API tokens issued into the store."""

    def __init__(self, store: Store, file_token: str | None) -> None:
        self._store = store
        self._file_hash = token_hash(file_token) if file_token is not None else None

    @property
    def required(self) -> bool:
        return self._file_hash is not None

    async def check(self, header: str | None) -> str | None:
        """The caller's name, or None if the Authorization header does not carry a valid token."""
        if not self.required:
            return "anonymous"
        if header is None or not header.startswith("Bearer "):
            return None
        presented = token_hash(header.removeprefix("Bearer ").strip())
        if self._file_hash is not None and hmac.compare_digest(presented, self._file_hash):
            return "api-token-file"
        found = await self._store.credential(presented)
        if found is None or found[0] != "api":
            return None
        _, subject, expires = found
        if expires is not None and expires <= time.time():
            return None
        return subject
