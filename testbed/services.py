"""Host-side services the guests reach through guestfwd, each on an ephemeral 127.0.0.1 port: an HTTP
image server and a line service (records the lines guests send, optionally answers each one).

The VM spec's guestfwd rules map fixed guest addresses (harness.GUEST_*) onto these ports.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class Hold:
    """Stall the next download of one file part-way, until released: the request is answered, the
    first `after_bytes` are sent, then the server waits. `reached` is set once a download stalls
    there; `release()` lets it (and any later one) run to the end. One-shot, so retries pass."""

    def __init__(self, name: str, after_bytes: int, *, at_most_s: float = 900.0) -> None:
        if after_bytes <= 0:
            raise ValueError("after_bytes must be positive")
        self.name = name
        self.after_bytes = after_bytes
        self.at_most_s = at_most_s  # a hold never outlives a forgotten release by more than this
        self.reached = threading.Event()
        self._released = threading.Event()
        self._armed = True
        self._lock = threading.Lock()

    def take(self, name: str) -> bool:
        """Whether this request for `name` is the one to stall (true once)."""
        with self._lock:
            if not self._armed or name != self.name:
                return False
            self._armed = False
            return True

    def stall(self) -> None:
        self.reached.set()
        self._released.wait(self.at_most_s)

    def release(self) -> None:
        self._released.set()


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files; the request log goes to the server's list, not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log: list[str] = getattr(self.server, "request_log", [])
        log.append(format % args)

    def copyfile(self, source: Any, outputfile: Any) -> None:
        hold: Hold | None = getattr(self.server, "hold", None)
        if hold is not None and hold.take(self.path.lstrip("/")):
            outputfile.write(source.read(hold.after_bytes))
            outputfile.flush()
            hold.stall()
            # The client may have died while held (the point of holding it): nothing to report then.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().copyfile(source, outputfile)
            return
        super().copyfile(source, outputfile)


@dataclass(frozen=True)
class ImageServer:
    directory: Path
    port: int
    request_log: list[str]

    def url(self, name: str, host: str = LOOPBACK, port: int | None = None) -> str:
        """The URL of a served file, as the host sees it or (host, port given) as the guest does."""
        return f"http://{host}:{port or self.port}/{name}"


@contextmanager
def image_server(directory: Path, hold: Hold | None = None) -> Iterator[ImageServer]:
    """Serve directory over HTTP on 127.0.0.1 until the block ends; `hold` stalls one download."""
    if not directory.is_dir():
        raise FileNotFoundError(f"image server: {directory} is not a directory")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    log: list[str] = []
    server.request_log = log  # type: ignore[attr-defined]
    server.hold = hold  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="image-server", daemon=True)
    thread.start()
    try:
        yield ImageServer(directory, server.server_address[1], log)
    finally:
        if hold is not None:
            hold.release()  # a stalled handler thread must not outlive the server
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class LineWaitError(AssertionError):
    """No line arrived in time (or the VM stopped first); the message says what was awaited."""


@dataclass
class LineService:
    port: int
    lines: list[str]
    arrived: threading.Condition

    def wait_line(self, *, within: float, what: str, problem: Callable[[], str | None] | None = None) -> str:
        """The first line any guest sent, waiting at most `within` seconds; problem() returning a
        reason (the VM stopped, the agent crashed) ends the wait early."""
        deadline = time.monotonic() + within
        with self.arrived:
            while not self.lines:
                if problem is not None and (reason := problem()):
                    raise LineWaitError(f"{what}: {reason}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LineWaitError(f"{what}: nothing arrived on 127.0.0.1:{self.port} in {within:.0f} s")
                self.arrived.wait(min(left, 1.0))
            return self.lines[0]


def _serve_connection(conn: socket.socket, service: LineService,
                      answer: Callable[[str], str] | None) -> None:
    with conn, conn.makefile("rwb") as stream:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with service.arrived:
                service.lines.append(line)
                service.arrived.notify_all()
            if answer is not None:
                stream.write(answer(line).encode() + b"\n")
                stream.flush()
                return


@contextmanager
def line_service(answer: Callable[[str], str] | None) -> Iterator[LineService]:
    """Accept connections on 127.0.0.1; record every line; answer(line) replies once and hangs up."""
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(0.5)
    service = LineService(listener.getsockname()[1], [], threading.Condition())
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_connection, args=(conn, service, answer), daemon=True).start()

    thread = threading.Thread(target=accept_loop, name="line-service", daemon=True)
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def connect_when_listening(path: Path, deadline: float) -> socket.socket | None:
    """A unix socket connected to path once something listens there (QEMU creates a channel's socket
    when the VM starts), or None if nothing does before the monotonic deadline."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    while True:
        try:
            sock.connect(str(path))
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() >= deadline:
                sock.close()
                return None
            time.sleep(0.2)


def read_unix_line(path: Path, *, within: float) -> str:
    """Connect to a unix socket QEMU listens on (a virtio-serial channel) and read one line."""
    deadline = time.monotonic() + within
    connected = connect_when_listening(path, deadline)
    if connected is None:
        raise LineWaitError(f"channel socket {path}: no listener within {within:.0f} s")
    with connected as sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        data = b""
        try:
            while not data.endswith(b"\n"):
                part = sock.recv(4096)
                if not part:
                    break
                data += part
        except TimeoutError:
            raise LineWaitError(f"no line on channel socket {path} within {within:.0f} s") from None
        return data.decode("utf-8", errors="replace").strip()
