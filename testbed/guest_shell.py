"""A root shell inside a testbed ramdisk VM, over a virtio-serial channel, for tests that must act
inside the guest (kill the agent mid-task, read what systemd saw).

Nothing in the ramdisk provides it: the testbed asks for it on the kernel command line, which only
whoever boots the machine controls. systemd's run generator turns `systemd.run=` into a service;
that service hands a shell loop to `systemd-run`, so it lives in its own unit and the boot carries on.
Because `systemd.run=` would also make its own target the default one, the command line names
multi-user.target explicitly and pulls the generated service in with `systemd.wants=`.

The channel is not a terminal: no echo, no line discipline, bytes as written. Each host connection gets
a fresh `sh` (the guest's read returns end-of-file when the host hangs up, and the loop starts another).
Every command is followed by a marker carrying a fresh nonce and `$?`, which is how the host knows
where the command's output ends and how it exited.
"""

from __future__ import annotations

import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from testbed.services import connect_when_listening

CHANNEL = "org.teeth.testbed.shell"
_LOOP = f"while :; do sh <>/dev/virtio-ports/{CHANNEL} >&0 2>&0; sleep 1; done"
KERNEL_ARGS = (
    "systemd.unit=multi-user.target systemd.wants=kernel-command-line.service "
    "systemd.run_success_action=none systemd.run_failure_action=none "
    f"systemd.run=\"systemd-run --unit=teeth-testbed-shell /bin/sh -c '{_LOOP}'\""
)
PROBE_EVERY_S = 3.0
MAX_OUTPUT = 1 << 20


class GuestShellError(AssertionError):
    """The shell did not answer in time, went away, or a command failed where success was required."""


@dataclass(frozen=True)
class Reply:
    output: str
    returncode: int


def marker_command(nonce: str) -> str:
    """The line that follows each command: prints the nonce and the command's exit status."""
    return f'echo "@@{nonce} $?"'


def parse_reply(buffer: bytes, nonce: str) -> tuple[Reply, bytes] | None:
    """Pure: the reply to the command marked with `nonce` and what follows it, or None while the
    marker has not arrived yet."""
    found = re.search(rb"@@" + re.escape(nonce.encode()) + rb" (\d+)\n", buffer)
    if found is None:
        return None
    output = buffer[:found.start()].decode("utf-8", errors="replace")
    return Reply(output, int(found.group(1))), buffer[found.end():]


class GuestShell:
    """One connection to the guest's shell channel. Use `connect`, then `run` any number of times."""

    def __init__(self, sock: socket.socket, path: Path) -> None:
        self._sock = sock
        self._path = path
        self._pending = b""

    @classmethod
    def connect(cls, path: Path, *, within: float) -> GuestShell:
        """Connect to the channel's unix socket and wait until a shell answers (it starts early in
        the boot, but a fresh one follows each reconnect after a pause)."""
        deadline = time.monotonic() + within
        sock = connect_when_listening(path, deadline)
        if sock is None:
            raise GuestShellError(f"guest shell {path}: no socket within {within:.0f} s")
        try:
            shell = cls(sock, path)
            shell._await_first_answer(deadline, within)
            return shell
        except BaseException:
            sock.close()
            raise

    def _await_first_answer(self, deadline: float, within: float) -> None:
        # Probes written before the shell runs wait in the channel and may all be answered later;
        # any answer will do, and stray ones are dropped from the next command's output.
        while time.monotonic() < deadline:
            nonce = _nonce("probe")
            self._sock.sendall(f"{marker_command(nonce)}\n".encode())
            if self._read_until(nonce, min(PROBE_EVERY_S, deadline - time.monotonic())) is not None:
                return
        raise GuestShellError(f"guest shell {self._path}: no answer within {within:.0f} s "
                              f"(was the VM booted with the testbed's guest shell arguments?)")

    def run(self, command: str, *, within: float = 60.0) -> Reply:
        """Run one shell command line in the guest; its stdout+stderr and exit status."""
        if "\n" in command:
            raise ValueError("one command line at a time")
        nonce = _nonce("cmd")
        self._sock.sendall(f"{command}\n{marker_command(nonce)}\n".encode())
        reply = self._read_until(nonce, within)
        if reply is None:
            raise GuestShellError(f"guest shell {self._path}: {command!r} did not finish "
                                  f"within {within:.0f} s")
        return Reply(_without_probes(reply.output), reply.returncode)

    def check(self, command: str, *, within: float = 60.0) -> str:
        """Like run, but a non-zero exit status is an error; returns the output."""
        reply = self.run(command, within=within)
        if reply.returncode != 0:
            raise GuestShellError(f"guest shell: {command!r} exited {reply.returncode}:\n{reply.output}")
        return reply.output

    def _read_until(self, nonce: str, within: float) -> Reply | None:
        deadline = time.monotonic() + within
        while (parsed := parse_reply(self._pending, nonce)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._sock.settimeout(left)
            try:
                part = self._sock.recv(65536)
            except TimeoutError:
                return None
            if not part:
                raise GuestShellError(f"guest shell {self._path}: the channel closed (did the VM stop?)")
            self._pending += part
            if len(self._pending) > MAX_OUTPUT:
                raise GuestShellError(f"guest shell {self._path}: more than {MAX_OUTPUT} bytes of output")
        reply, self._pending = parsed
        return reply

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> GuestShell:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _nonce(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(6)}"


def _without_probes(output: str) -> str:
    return "".join(line for line in output.splitlines(keepends=True) if not line.startswith("@@probe-"))
