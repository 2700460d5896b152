"""A line-aware TCP relay on 127.0.0.1 between one agent and the endpoint: drop faults and recording.

    proxy = LinkProxy("127.0.0.1", endpoint_port, drop_at_message=5, record=transcript.append)
    await proxy.start()         # the agent dials 127.0.0.1:proxy.port instead of the endpoint

`drop_at_message=n` cuts the link (both sides) right after relaying the n-th line the agent sent, once —
the agent must reconnect, re-handshake and re-send any unacknowledged final task status.
`record(direction, line)` sees every relayed line ("agent" = agent->endpoint, "endpoint" = the other way).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

Recorder = Callable[[str, bytes], None]
LINE_LIMIT = 2 * 1024 * 1024


class LinkProxy:
    def __init__(self, host: str, port: int, *, drop_at_message: int = 0, record: Recorder | None = None
                 ) -> None:
        self._upstream = (host, port)
        self._drop_at = drop_at_message
        self._record = record
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.port = 0
        self.agent_lines = 0
        self.drops = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, limit=LINE_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        # Closing the sockets ends every pump; cancelling the handlers instead would make asyncio log
        # their cancellation as an error.
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._idle.wait()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, a_reader: asyncio.StreamReader, a_writer: asyncio.StreamWriter) -> None:
        try:
            e_reader, e_writer = await asyncio.open_connection(*self._upstream, limit=LINE_LIMIT)
        except OSError:
            a_writer.close()
            return
        self._writers.update((a_writer, e_writer))
        self._idle.clear()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(a_reader, e_writer, "agent", a_writer))
                tg.create_task(self._pump(e_reader, a_writer, "endpoint", e_writer))
        except* (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            for w in (a_writer, e_writer):
                w.close()
                self._writers.discard(w)
            if not self._writers:
                self._idle.set()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str,
                    other: asyncio.StreamWriter) -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            if self._record is not None:
                self._record(direction, line)
            writer.write(line)
            await writer.drain()
            if direction == "agent":
                self.agent_lines += 1
                if self.agent_lines == self._drop_at:
                    self.drops += 1
                    break
        # One side ended (or the drop fault fired): end both, like a cut cable.
        writer.close()
        other.close()
