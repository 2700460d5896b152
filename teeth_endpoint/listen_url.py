"""The endpoint's `--listen` URLs: tcp://HOST:PORT, tls://HOST:PORT, unix:///PATH (port 0: any free one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from teeth_agent.urls import host_port

Scheme = Literal["tcp", "tls", "unix"]


@dataclass(frozen=True)
class ListenUrl:
    scheme: Scheme
    host: str = ""
    port: int = 0
    path: str = ""


def parse_listen_url(url: str) -> ListenUrl:
    """A ValueError names what is wrong with `url`."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "unix":
        path = parts.netloc + parts.path
        if not path.startswith("/") or parts.netloc:
            raise ValueError(f"listen URL {url!r}: expected unix:///ABSOLUTE/PATH")
        return ListenUrl("unix", path=path)
    if scheme not in ("tcp", "tls"):
        raise ValueError(f"listen URL {url!r}: scheme must be tcp://, tls:// or unix://")
    host, port = host_port(url, parts, what="listen URL", allow_port_zero=True)
    return ListenUrl("tcp" if scheme == "tcp" else "tls", host=host, port=port)
