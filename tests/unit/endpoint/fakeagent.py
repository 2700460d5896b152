"""A minimal scripted agent over a real socket, for endpoint tests (the real agent lives elsewhere)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine
from typing import Any

from teeth_agent.connection import Connection, Reply
from teeth_agent.protocol import Command, ErrorPayload, JsonObject, Role

TaskScript = Callable[["FakeAgent", Command], Coroutine[Any, Any, None]]


class FakeAgent:
    """Answers `status`; for `fake.task` it answers `{task_id, state}` at once and runs `script`."""

    def __init__(self, agent_id: str, *, script: TaskScript | None = None, boot_id: str = "boot-1") -> None:
        self.agent_id = agent_id
        self.boot_id = boot_id
        self.script = script
        self.conn: Connection | None = None
        self.started: list[str] = []
        self._runs: set[asyncio.Task[Any]] = set()

    async def handle(self, cmd: Command) -> Reply:
        if cmd.method == "status":
            return {"agent_id": self.agent_id, "boot_id": self.boot_id}
        if cmd.method == "fake.task":
            task_id = cmd.params["task_id"]
            self.started.append(task_id)
            if self.script is not None:
                run: asyncio.Task[None] = asyncio.create_task(self.script(self, cmd))
                self._runs.add(run)
                run.add_done_callback(self._runs.discard)
            return {"task_id": task_id, "state": "running"}
        return ErrorPayload(f"unknown method {cmd.method}", "unknown_method")

    async def connect(
        self,
        url: str,
        *,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        tasks: list[JsonObject] | None = None,
    ) -> tuple[Connection, asyncio.Task[str], JsonObject]:
        """Dial, start the connection, handshake. Returns the connection, its run task and the reply."""
        scheme, rest = url.split("://", 1)
        if scheme == "unix":
            reader, writer = await asyncio.open_unix_connection(rest)
        else:
            host, port = rest.rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port), ssl=tls)
        conn = Connection(reader, writer, Role.AGENT, handler=self.handle, peer=url)
        self.conn = conn
        runner = asyncio.create_task(conn.run())
        params: JsonObject = {
            "agent_id": self.agent_id,
            "agent_version": "test",
            "boot_id": self.boot_id,
            "backend": "fake",
            "methods": ["status", "fake.task"],
            "tasks": tasks or [],
        }
        if token is not None:
            params["token"] = token
        try:
            reply = await conn.call("handshake", params, timeout=10)
        except BaseException:
            await conn.close()
            await runner
            raise
        return conn, runner, reply

    async def status(self, task_id: str, seq: int, state: str, **extra: Any) -> JsonObject:
        assert self.conn is not None
        params = {"task_id": task_id, "method": "fake.task", "seq": seq, "state": state, **extra}
        return await self.conn.call("task_status", params, timeout=10)
