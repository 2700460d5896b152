"""Host-side services the guests reach through guestfwd: an HTTP image server on 127.0.0.1.

It listens on an ephemeral loopback port only; the VM spec's guestfwd rule maps a fixed guest address
(10.0.2.101:8080 by default) onto it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files; the request log goes to the server's list, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log: list[str] = getattr(self.server, "request_log", [])
        log.append(format % args)


@dataclass(frozen=True)
class ImageServer:
    directory: Path
    port: int
    request_log: list[str]

    def url(self, name: str, host: str = LOOPBACK, port: int | None = None) -> str:
        """The URL of a served file, as the host sees it or (host, port given) as the guest does."""
        return f"http://{host}:{port or self.port}/{name}"


@contextmanager
def image_server(directory: Path) -> Iterator[ImageServer]:
    """Serve directory over HTTP on 127.0.0.1 until the block ends."""
    if not directory.is_dir():
        raise FileNotFoundError(f"image server: {directory} is not a directory")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    log: list[str] = []
    server.request_log = log  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="image-server", daemon=True)
    thread.start()
    try:
        yield ImageServer(directory, server.server_address[1], log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
