"""An endpoint written for the tests from docs/protocol.md alone, sharing no code with this project.

It accepts any handshake, answers `log` and `task_status` with {}, and sends each agent `ping` then
`status`, remembering the answers. `broken=` switches on one wrong behaviour for the conformance tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

BROKEN = ("every_violation_silent", "unknown_method_fatal", "duplicate_status_error", "no_ping_echo")


@dataclass
class Seen:
    agent_id: str
    boot_id: str
    ping: dict[str, Any] | None = None
    status: dict[str, Any] | None = None


@dataclass
class MinimalEndpoint:
    broken: str | None = None
    handshakes: list[Seen] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=4 << 20)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"tcp://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

    def answered(self) -> dict[str, Seen]:
        """Agent ids that shook hands and answered both ping and status (latest link of each)."""
        return {s.agent_id: s for s in self.handshakes if s.ping is not None and s.status is not None}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ids = itertools.count(1)
        waiting: dict[str, str] = {}
        seen: Seen | None = None
        statuses: set[tuple[str, int]] = set()
        self._writers.add(writer)

        def send(obj: dict[str, Any]) -> None:
            writer.write(json.dumps(obj).encode() + b"\n")

        def fatal(reason: str) -> None:
            if self.broken != "every_violation_silent":
                send({"version": "v1", "fatal_error": reason})

        try:
            while line := await reader.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    fatal("not JSON")
                    break
                if not isinstance(msg, dict) or msg.get("version") != "v1" or "id" not in msg:
                    fatal("bad message")
                    break
                if "result" in msg or "error" in msg:
                    what = waiting.pop(msg["id"], None)
                    if what is None:
                        fatal("response to no pending id")
                        break
                    if seen is not None and "result" in msg:
                        setattr(seen, what, msg["result"])
                        self.changed.set()
                        if what == "ping":
                            status_id = f"e{next(ids)}"
                            waiting[status_id] = "status"
                            send({"version": "v1", "id": status_id, "method": "status", "params": {}})
                    continue
                method, params = msg.get("method"), msg.get("params", {})
                if not isinstance(method, str):
                    fatal("neither command nor response")
                    break
                if seen is None:
                    if method != "handshake":
                        fatal("handshake first")
                        break
                    seen = Seen(params.get("agent_id", ""), params.get("boot_id", ""))
                    self.handshakes.append(seen)
                    self.changed.set()
                    send({"version": "v1", "id": msg["id"], "result": {"accepted": True,
                                                                        "heartbeat_interval": 2}})
                    ping_id = f"e{next(ids)}"
                    waiting[ping_id] = "ping"
                    send({"version": "v1", "id": ping_id, "method": "ping", "params": {"hello": 1}})
                elif method == "ping":
                    echo = {} if self.broken == "no_ping_echo" else params
                    send({"version": "v1", "id": msg["id"], "result": echo})
                elif method == "task_status":
                    key = (str(params.get("task_id")), int(params.get("seq", 0)))
                    if key in statuses and self.broken == "duplicate_status_error":
                        send({"version": "v1", "id": msg["id"],
                              "error": {"type": "invalid_params", "msg": "duplicate"}})
                    else:
                        statuses.add(key)
                        send({"version": "v1", "id": msg["id"], "result": {}})
                elif method == "log":
                    send({"version": "v1", "id": msg["id"], "result": {}})
                elif self.broken == "unknown_method_fatal":
                    fatal(f"unknown method {method}")
                    break
                else:
                    send({"version": "v1", "id": msg["id"],
                          "error": {"type": "unknown_method", "msg": method}})
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            self._writers.discard(writer)
