"""Join this process's stdin/stdout to a TCP port on 127.0.0.1 (QEMU `guestfwd=...-cmd:` helper).

QEMU's user-mode network spawns one of these per guest connection, with the guest's connection as
stdin, stdout and stderr: so nothing may ever be printed here, and the only address it dials is
127.0.0.1. Standard library only; run as `python3 relay.py 127.0.0.1 PORT`.
"""

from __future__ import annotations

import selectors
import socket
import sys

CHUNK = 65536


def relay(guest: socket.socket, host: socket.socket) -> None:
    """Copy both ways until both directions have reached end of stream."""
    peers = {guest: host, host: guest}
    sel = selectors.DefaultSelector()
    for sock in peers:
        sel.register(sock, selectors.EVENT_READ)
    open_reads = 2
    while open_reads:
        for key, _ in sel.select():
            src: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data = src.recv(CHUNK)
            except ConnectionError:
                data = b""
            if data:
                peers[src].sendall(data)
                continue
            sel.unregister(src)
            open_reads -= 1
            try:
                peers[src].shutdown(socket.SHUT_WR)
            except OSError:
                return  # the other side is gone as well


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "127.0.0.1":
        return 2  # only the host's loopback is ever reachable through the testbed
    guest = socket.socket(fileno=0)
    try:
        host = socket.create_connection((argv[0], int(argv[1])), timeout=10)
    except OSError:
        return 1  # closing the guest's connection is the only signal the guest understands
    host.settimeout(None)
    with host:
        relay(guest, host)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
