"""Many real agents on simulated machines in one process, for control-plane tests.

    python sim_fleet.py STATE_DIR COUNT URL [URL ...]

Agent i is `sim-{i:04d}` and lists the endpoint URLs rotated by i (so a fleet spreads over instances and
fails over to the next one). Prints "running" once every agent has started; runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from simulator.machine.backend import make_backend
from simulator.machine.clock import SimClock
from teeth_agent.agent import Agent, AgentConfig
from teeth_agent.commands.wiring import AgentCommands
from teeth_agent.dial import Backoff, parse_endpoint
from teeth_agent.logforward import LogForwarder
from teeth_agent.tasks.store import MemoryStore


async def main(state: Path, count: int, urls: list[str]) -> None:
    async with asyncio.TaskGroup() as tg:
        for i in range(count):
            order = urls[i % len(urls) :] + urls[: i % len(urls)]
            config = AgentConfig(
                endpoints=tuple(parse_endpoint(u) for u in order),
                state_dir=state / f"a{i}",
                agent_id=f"sim-{i:04d}",
                backoff=Backoff(initial=0.2, factor=2.0, cap=2.0),
                heartbeat_interval=2.0,
                call_timeout=10.0,
                ack_timeout=60.0,
            )
            # 50x real time (not the default 1000x): an erase lasts long enough to be cut in the middle.
            backend = make_backend("vm", seed=i, serial=f"SER{i:04d}", clock=SimClock(50.0))
            agent = Agent(config, backend, logs=LogForwarder(), store=MemoryStore(), commands=AgentCommands())
            tg.create_task(agent.run())
        print("running", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))
