"""The host end of an agent's virtio-serial link: QEMU listens on a unix socket for the port; the
reference endpoint listens for agents, not dials. This dials the socket and hands the stream to the
endpoint as if the agent had connected, and dials again whenever the stream ends (the VM restarted, the
guest closed the port), until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from teeth_endpoint.api import Endpoint

REDIAL_S = 0.5


async def _serve_forever(ep: Endpoint, path: Path) -> None:
    while True:
        try:
            reader, writer = await asyncio.open_unix_connection(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            await asyncio.sleep(REDIAL_S)  # QEMU has not created the socket yet, or the VM is down
            continue
        await ep.server.serve(reader, writer)
        await asyncio.sleep(REDIAL_S)


@asynccontextmanager
async def channel_link(ep: Endpoint, path: Path) -> AsyncIterator[None]:
    """Serve agents reaching `ep` through the VM channel whose host socket is `path`, within the block."""
    task = asyncio.create_task(_serve_forever(ep, path), name=f"channel-link:{path.name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
