"""The server side of the endpoint-scale bench, run as its own process.

    python -m benchmarks.endpoint_proc --mode endpoint|echo

Prints `READY <port>` once listening on 127.0.0.1, then serves until stdin closes.
- `endpoint`: the real reference endpoint (teeth_endpoint.api.Endpoint).
- `sqlite`: the same with its control plane on a SQLite store in --state-dir (every status durable
  before it is acknowledged).
- `echo`: the baseline — a bare asyncio Protocol that answers every command line with a success carrying
  its params (json.loads + json.dumps, no protocol core, no validation, no bookkeeping).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys

from teeth_endpoint.api import Endpoint
from teeth_endpoint.gcpolicy import GcPolicy
from teeth_endpoint.plane import ControlPlane
from teeth_endpoint.store import open_store


def raise_fd_limit(wanted: int) -> int:
    """Raise RLIMIT_NOFILE towards `wanted` (the hard limit too, when allowed); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


class EchoServer(asyncio.Protocol):
    def __init__(self) -> None:
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        *lines, self._buf = (self._buf + data).split(b"\n")
        out = []
        for line in lines:
            msg = json.loads(line)
            if "method" in msg:
                result = {"accepted": True} if msg["method"] == "handshake" else msg.get("params", {})
                reply = {"version": "v1", "id": msg["id"], "result": result}
                out.append(json.dumps(reply, separators=(",", ":")))
        if out:
            self._transport.write(("\n".join(out) + "\n").encode())


async def wait_stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


async def main_async(mode: str, fds: int, state_dir: str | None = None) -> None:
    raise_fd_limit(fds)
    if mode == "echo":
        server = await asyncio.get_running_loop().create_server(EchoServer, "127.0.0.1", 0, backlog=4096)
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        await wait_stdin_closed()
        server.close()
        return
    # As `teeth-endpoint serve` runs it: with its GC policy.
    async with Endpoint(heartbeat_interval=60.0, gc_policy=GcPolicy()) as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        if mode == "sqlite":
            store = await open_store(state_dir=state_dir)
            async with ControlPlane(ep, store):
                print(f"READY {url.rsplit(':', 1)[1]}", flush=True)
                await wait_stdin_closed()
            await store.close()
            return
        print(f"READY {url.rsplit(':', 1)[1]}", flush=True)
        await wait_stdin_closed()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["endpoint", "echo", "sqlite"], required=True)
    parser.add_argument("--state-dir", help="the SQLite store's directory (--mode sqlite)")
    parser.add_argument("--fds", type=int, default=30_000)
    args = parser.parse_args()
    asyncio.run(main_async(args.mode, args.fds, args.state_dir))


if __name__ == "__main__":
    main()
