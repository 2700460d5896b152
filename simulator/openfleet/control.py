"""The fleet's local control socket: `teeth-sim machines` and `teeth-sim fault` reach running fleets.

Each fleet process listens on `<dir>/fleet-<pid>.sock` inside a private directory (mode 0700, owned by
this user; anything else is refused, so another local user can neither drive nor impersonate a fleet).
One request per connection, one JSON line each way:

    -> {"op": "machines"}                               <- {"ok": true, "result": [machine, ...]}
    -> {"op": "fault", "machine": M, "kind": K, "args": [...]}   <- {"ok": true, "result": "what happened"}
    <- {"ok": false, "error": "..."}   on anything wrong (an unknown machine: "not_found" in `type`)

A sharded fleet is several processes, each with its own socket; clients ask them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from simulator.openfleet.fleet import OpenFleet
from simulator.openfleet.live import apply

REQUEST_LIMIT = 64 * 1024


class ControlDirError(RuntimeError):
    pass


def default_control_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "teeth-sim"
    return Path(f"/tmp/teeth-sim-{os.getuid()}")


def private_dir(path: Path, *, create: bool) -> Path:
    """`path` as a directory only this user can use; created 0700 when asked. Refuses anything else."""
    if create:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700, parents=True)
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise ControlDirError(f"{path}: no such directory (is a fleet running?)") from None
    if not stat.S_ISDIR(st.st_mode):
        raise ControlDirError(f"{path}: not a directory")
    if st.st_uid != os.getuid():
        raise ControlDirError(f"{path}: owned by uid {st.st_uid}, not by this user ({os.getuid()})")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise ControlDirError(f"{path}: mode {stat.S_IMODE(st.st_mode):o} lets others in; it must be 0700")
    return path


class ControlServer:
    def __init__(self, fleet: OpenFleet, directory: Path) -> None:
        self._fleet = fleet
        self.path = private_dir(directory, create=True) / f"fleet-{os.getpid()}.sock"
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # ours by name (our pid): a leftover of a crashed run with a reused pid
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, str(self.path), limit=REQUEST_LIMIT)
        finally:
            os.umask(old)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            writer.write(json.dumps(self._answer(line)).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            req = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "request is not JSON"}
        if not isinstance(req, dict):
            return {"ok": False, "error": "request must be an object"}
        if req.get("op") == "machines":
            return {"ok": True, "result": self._fleet.snapshot()}
        if req.get("op") == "fault":
            name, kind, args = req.get("machine"), req.get("kind"), req.get("args", [])
            if not isinstance(name, str) or not isinstance(kind, str) or not isinstance(args, list) \
                    or not all(isinstance(a, str) for a in args):
                return {"ok": False, "error": "fault needs machine, kind (strings) and args (strings)"}
            host = self._fleet.find(name)
            if host is None:
                return {"ok": False, "type": "not_found", "error": f"no machine {name!r} in this fleet"}
            try:
                return {"ok": True, "result": apply(host, kind, args)}
            except ValueError as exc:
                return {"ok": False, "error": str(exc)}
        return {"ok": False, "error": f"unknown op {req.get('op')!r} (machines, fault)"}


async def ask(path: Path, request: dict[str, Any], within: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(within):
        reader, writer = await asyncio.open_unix_connection(str(path), limit=64 << 20)
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            answer: dict[str, Any] = json.loads(await reader.readline())
            return answer
        finally:
            writer.close()


def sockets(directory: Path) -> list[Path]:
    return sorted(private_dir(directory, create=False).glob("fleet-*.sock"))


async def ask_all(directory: Path, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every live fleet's answer (sockets nobody listens on any more are skipped)."""
    answers = []
    for path in sockets(directory):
        try:
            answers.append(await ask(path, request))
        except (OSError, TimeoutError, ValueError):
            continue
    return answers
