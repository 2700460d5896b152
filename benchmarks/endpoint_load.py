"""A swarm of lightweight protocol clients (raw asyncio Protocols, no teeth_agent code) for the scale bench.

Each client connects to 127.0.0.1, handshakes, then — driven by one scheduler — pings every
`ping_interval` seconds and sends a `task_status` every `status_interval` seconds. It answers any command
the server sends (a keepalive ping) with its params. Ping latency is measured from write to response.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, pings answered during the load phase
    status_latencies: list[float] = field(default_factory=list)  # task_status sent to acknowledged
    responses: int = 0
    errors: int = 0
    measuring: bool = False


STATUS = (b'{"version":"v1","id":"%s","method":"task_status","params":{"task_id":"t-%d",'
          b'"method":"decom.disk_erase","seq":%d,"state":"running","percent":%d,"eta":60}}\n')


class Client(asyncio.Protocol):
    def __init__(self, index: int, stats: Stats) -> None:
        self.index = index
        self.stats = stats
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.closed = False
        self._buf = b""
        self._sent: dict[str, float] = {}
        self._n = 0
        self._seq = 0
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        params = {"agent_id": f"bench-{self.index}", "agent_version": "bench", "boot_id": f"b{self.index}",
                  "backend": "bench", "methods": ["ping"], "tasks": []}  # fmt: skip
        self._write({"version": "v1", "id": "h", "method": "handshake", "params": params})

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_result(False)

    def _write(self, msg: dict[str, object]) -> None:
        self._send(json.dumps(msg).encode() + b"\n")

    def _send(self, line: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(line)

    def data_received(self, data: bytes) -> None:
        # Kept cheap so that one client process can drive thousands of agents: the id is read straight from
        # the line (the protocol core writes "version" then "id" first); only the rare rest is parsed.
        *lines, self._buf = (self._buf + data).split(b"\n")
        now = time.perf_counter()
        for line in lines:
            start = line.find(b'"id":"') + 6
            msg_id = line[start : line.index(b'"', start)].decode()
            if msg_id in self._sent:
                self._on_response(msg_id, b'"error":' in line, now)
            elif msg_id == "h" and not self.ready.done():
                self.ready.set_result(b'"accepted":true' in line)
            elif b'"method":' in line:  # the server's keepalive ping
                msg = json.loads(line)
                self._write({"version": "v1", "id": msg["id"], "result": msg.get("params", {})})

    def _on_response(self, msg_id: str, error: bool, now: float) -> None:
        sent = self._sent.pop(msg_id)
        stats = self.stats
        stats.errors += error
        if stats.measuring:
            stats.responses += 1
            if msg_id[0] == "p":
                stats.latencies.append(now - sent)
            else:
                stats.status_latencies.append(now - sent)

    def ping(self) -> None:
        self._n += 1
        msg_id = f"p{self._n}"
        self._sent[msg_id] = time.perf_counter()
        self._send(b'{"version":"v1","id":"%s","method":"ping","params":{}}\n' % msg_id.encode())

    def task_status(self) -> None:
        self._n += 1
        self._seq += 1
        msg_id = f"s{self._n}"
        self._sent[msg_id] = time.perf_counter()
        self._send(STATUS % (msg_id.encode(), self.index, self._seq, min(self._seq, 100)))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def connect_all(port: int, count: int, stats: Stats, concurrency: int = 200) -> list[Client]:
    """Connect and handshake `count` clients; returns those the server accepted."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> Client | None:
        async with gate:
            try:
                _, client = await loop.create_connection(lambda: Client(index, stats), "127.0.0.1", port)
                async with asyncio.timeout(30):
                    accepted = await client.ready
            except (OSError, TimeoutError):
                return None
        return client if accepted else None

    results = await asyncio.gather(*(one(i) for i in range(count)))
    return [c for c in results if c is not None]


async def drive(clients: list[Client], seconds: float, ping_interval: float, status_interval: float) -> None:
    """Spread pings and statuses evenly: each tick serves the slice of clients that is due."""
    tick = 0.01
    ticks_per_ping = max(int(ping_interval / tick), 1)
    ticks_per_status = max(int(status_interval / tick), 1)
    started = time.perf_counter()
    t = 0
    while time.perf_counter() - started < seconds:
        for client in _due(clients, t, ticks_per_ping):
            client.ping()
        for client in _due(clients, t, ticks_per_status):
            client.task_status()
        t += 1
        await asyncio.sleep(max(0.0, started + t * tick - time.perf_counter()))


def _due(clients: list[Client], tick: int, period: int) -> list[Client]:
    """The slice of clients whose turn it is at `tick` when each gets one turn every `period` ticks."""
    n, k = len(clients), tick % period
    return clients[k * n // period : (k + 1) * n // period]
