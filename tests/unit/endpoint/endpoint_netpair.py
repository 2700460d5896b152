"""A listening socket on 127.0.0.1 that hands out connected stream pairs (for connection tests)."""

from __future__ import annotations

import asyncio

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class TcpPair:
    """A listening socket on 127.0.0.1 and a way to open client/server stream pairs through it."""

    def __init__(self) -> None:
        self._accepted: asyncio.Queue[Streams] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        async def accept(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await self._accepted.put((r, w))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0, limit=2 << 20)

    async def open(self) -> tuple[Streams, Streams]:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        client = await asyncio.open_connection("127.0.0.1", port, limit=2 << 20)
        server_side = await self._accepted.get()
        return client, server_side
