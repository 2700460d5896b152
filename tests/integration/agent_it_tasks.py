"""A test-only task for the agent process, loaded with `teeth-agent --plugin agent_it_tasks`.

`test.count` reports progress over `steps` steps (logging each), then — when `hold_file` is given — waits
until that file exists before completing, so a test can act while the task is provably mid-way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teeth_agent.params import get_int, get_str
from teeth_agent.tasks.context import TaskContext
from teeth_agent.tasks.spec import TaskSpec


@dataclass(frozen=True)
class CountParams:
    steps: int
    step_ms: int
    hold_file: str | None


def parse(params: Mapping[str, Any]) -> CountParams:
    return CountParams(
        steps=get_int(params, "steps", 3, minimum=1),
        step_ms=get_int(params, "step_ms", 600, minimum=0),
        hold_file=get_str(params, "hold_file", None),
    )


async def run(ctx: TaskContext, p: CountParams) -> dict[str, Any]:
    clock = ctx.backend.clock
    for step in range(p.steps):
        ctx.log.info("step %d of %d", step + 1, p.steps)
        ctx.progress(step + 1, p.steps + 1)
        await clock.sleep(p.step_ms / 1000)
    # A stat per 50 ms is not worth a thread; the test only needs the task to wait here.
    while p.hold_file is not None and not os.path.exists(p.hold_file):  # noqa: ASYNC240
        await clock.sleep(0.05)
    ctx.progress(p.steps + 1, p.steps + 1)
    return {"counted": p.steps}


TASKS = (TaskSpec("test.count", validate=parse, run=run),)
