"""Tiny task specs for the agent's unit tests (their clock is the memory backend's ManualClock)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from teeth_agent.params import get_int
from teeth_agent.tasks.context import TaskContext
from teeth_agent.tasks.spec import TaskSpec


class Gate:
    """A task body the test releases step by step: each step reports progress, then waits."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.runs = 0

    async def run(self, ctx: TaskContext, parsed: Any) -> dict[str, Any]:
        self.runs += 1
        self.started.set()
        ctx.progress(1, 4)
        await self.release.wait()
        if parsed == "fail":
            raise RuntimeError("boom")
        ctx.progress(4, 4)
        return {"done": True}


def parse_mode(params: Mapping[str, Any]) -> str:
    get_int(params, "size", 1, minimum=1)
    mode = params.get("mode", "ok")
    return str(mode)


def gate_spec(gate: Gate, method: str = "test.gate", mutating: bool = True) -> TaskSpec:
    return TaskSpec(method=method, validate=parse_mode, run=gate.run, mutating=mutating)
