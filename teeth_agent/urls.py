"""The HOST:PORT part of tcp:// and tls:// URLs, checked the same way for where agents dial and where the
endpoint listens."""

from __future__ import annotations

from urllib.parse import SplitResult


def host_port(url: str, parts: SplitResult, *, what: str, allow_port_zero: bool) -> tuple[str, int]:
    """A ValueError that starts with `what` and the URL names what is wrong."""
    scheme = parts.scheme.lower()
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{what} {url!r}: expected {scheme}://HOST:PORT with nothing after the port")
    lowest = 0 if allow_port_zero else 1
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} {url!r}: port must be a number from {lowest} to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{what} {url!r}: missing host")
    if port is None or port < lowest:
        hint = "; 0 picks one" if allow_port_zero else ""
        raise ValueError(f"{what} {url!r}: missing port (expected {scheme}://HOST:PORT{hint})")
    return parts.hostname, port
