"""A minimal endpoint for the agent's tests: the protocol core in the endpoint role over 127.0.0.1,
recording what the agent sends and answering handshake/log/task_status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from teeth_agent.connection import Connection
from teeth_agent.protocol import Command, ErrorPayload, JsonObject, Role


class FakeEndpoint:
    def __init__(self, *, accept: bool = True) -> None:
        self.accept = accept
        self.handshakes: list[JsonObject] = []
        self.logs: list[JsonObject] = []
        self.statuses: list[JsonObject] = []
        self.links: list[Connection] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", port)
        return int(self._server.sockets[0].getsockname()[1])

    async def kill(self) -> None:
        """Vanish like a killed process: no goodbye, connections reset."""
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()

    async def wait(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(20):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    @property
    def link(self) -> Connection:
        return self.links[-1]

    def finals(self, task_id: str) -> list[JsonObject]:
        return [s for s in self.statuses if s["task_id"] == task_id and s["state"] != "running"]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        conn: Connection | None = None

        def handle(cmd: Command) -> JsonObject | ErrorPayload:
            assert conn is not None
            result: dict[str, Any] = {}
            if cmd.method == "handshake":
                self.handshakes.append(cmd.params)
                self.links.append(conn)
                result = {"accepted": self.accept, "heartbeat_interval": 20}
            elif cmd.method == "log":
                self.logs.append(cmd.params)
            elif cmd.method == "task_status":
                self.statuses.append(cmd.params)
            else:
                return ErrorPayload(f"unknown method {cmd.method}", "unknown_method")
            self._changed.set()
            return result

        conn = Connection(reader, writer, Role.ENDPOINT, handler=handle, peer="agent")
        await conn.run()
        self._changed.set()
