"""What the store raises, and URLs safe to print."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


class StoreError(Exception):
    """The store refused something (a bad record); the request fails, nothing is half-written."""


class StoreUnavailable(StoreError):
    """The database cannot be reached; the message names it without its password."""


def redact(url: str) -> str:
    """`postgresql://user:secret@host/db` -> `postgresql://user:***@host/db` (also a password= option)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable store URL>"
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        netloc = f"{creds}@{host}"
    query = "&".join(
        "password=***" if q.lower().startswith("password=") else q for q in parts.query.split("&") if q
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
