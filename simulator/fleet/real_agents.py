"""The fleet's bindings to the real agent (`teeth_agent.agent`) and the reference endpoint.

Kept apart from fleet.py so the runner's logic depends only on two small seams (FleetEndpoint,
AgentFactory) and can be exercised on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from simulator.fleet.runner import JoinedAgent, JsonObject, StatusSink
from simulator.machine.backend import SimBackend
from teeth_agent.agent import Agent, AgentConfig
from teeth_agent.commands.wiring import AgentCommands
from teeth_agent.connection import ConnectionClosed
from teeth_agent.dial import Backoff, parse_endpoint
from teeth_agent.logforward import LogForwarder
from teeth_agent.tasks.store import MemoryStore
from teeth_endpoint.api import AgentNotConnected, Endpoint

# Reconnect fast: in the demo a dropped link is a fault under test, and wall seconds are precious.
FLEET_BACKOFF = Backoff(initial=0.05, factor=2.0, cap=1.0)
# Before asking again after a link dropped under a command: lets the endpoint see the old link go.
RESEND_PAUSE = 0.05


class RealEndpoint:
    """`FleetEndpoint` over the reference endpoint's async API."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def wait_for_agent(self, agent_id: str, *, within: float) -> JoinedAgent:
        info = await self.endpoint.wait_for_agent(agent_id, timeout=within)
        return JoinedAgent(frozenset(info.methods), info.boot_id)

    async def run_task(self, agent_id: str, method: str, params: JsonObject, *, within: float,
                       on_status: StatusSink) -> JsonObject:
        """Like a conductor: a link that drops while the command goes out is not the task's outcome. The
        command is sent again once the agent is back; the same task_id never starts the work twice."""
        async with asyncio.timeout(within):
            while True:
                try:
                    return await self.endpoint.run_task(agent_id, method, params, on_progress=on_status)
                except (ConnectionClosed, AgentNotConnected):
                    await asyncio.sleep(RESEND_PAUSE)
                    await self.endpoint.wait_for_agent(agent_id, timeout=None)


@contextlib.asynccontextmanager
async def reference_endpoint(heartbeat_interval: float = 20.0) -> AsyncIterator[tuple[RealEndpoint, int]]:
    """The reference endpoint listening on 127.0.0.1 (an ephemeral port): (adapter, port)."""
    async with Endpoint(heartbeat_interval=heartbeat_interval) as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        port = int(url.rsplit(":", 1)[1].rstrip("/"))
        yield RealEndpoint(ep), port


class RealAgents:
    """`AgentFactory` for real agents on this event loop, one machine's task records kept across its boots.

    Task records live in a `MemoryStore` per machine (its "local storage"): a fleet of a thousand agents
    fsyncing every status change would measure the host's disk, not the agents. Log records are not
    forwarded to the endpoint (one process's logging would mix every machine's records).
    """

    def __init__(self) -> None:
        self._stores: dict[Path, MemoryStore] = {}

    async def __call__(self, backend: SimBackend, agent_id: str, endpoint_url: str, state_dir: Path) -> None:
        config = AgentConfig(
            endpoints=(parse_endpoint(endpoint_url),),
            state_dir=state_dir,
            agent_id=agent_id,
            backoff=FLEET_BACKOFF,
            ack_timeout=60.0,
        )
        store = self._stores.setdefault(state_dir, MemoryStore())
        await Agent(config, backend, logs=LogForwarder(), store=store, commands=AgentCommands()).run()
