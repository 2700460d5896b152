"""The standby family: standbye.cache_images, standbye.prepare_image, standbye.run_image.

Each `validate` parses its params into typed values (InvalidParams naming the field, before any work);
each `run` drives a flow through the Backend only. The registry collects TASKS (and aliases standby.*).

run_image's result carries `action` ("kexec" | "reboot"); the act itself is `AFTER_ACK[method]`, which the
runner must call only once the endpoint acknowledged that final `complete` status (or a bounded wait for
the acknowledgement ran out) — see `teeth_agent.boot.run_image.after_ack`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from teeth_agent.backend.api import Backend
from teeth_agent.boot import run_image as boot_run
from teeth_agent.images.cache import CacheRun
from teeth_agent.images.params import CacheParams, PrepareParams, validate_cache, validate_prepare
from teeth_agent.images.prepare import PrepareRun
from teeth_agent.tasks.context import TaskContext
from teeth_agent.tasks.spec import JsonObject, TaskSpec


async def run_cache(ctx: TaskContext, parsed: CacheParams) -> JsonObject:
    flow = CacheRun(ctx.backend, ctx.state_dir, ctx.log, ctx.progress)
    return (await flow.run(parsed.images, parsed.hints)).to_json()


async def run_prepare(ctx: TaskContext, parsed: PrepareParams) -> JsonObject:
    return await PrepareRun(ctx.backend, ctx.state_dir, ctx.log, ctx.progress).run(parsed.image, parsed.hints)


async def run_run_image(ctx: TaskContext, parsed: boot_run.RunParams) -> JsonObject:
    return await boot_run.run(ctx.backend, ctx.state_dir, parsed, ctx.progress, ctx.log)


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(method="standbye.cache_images", validate=validate_cache, run=run_cache),
    TaskSpec(method="standbye.prepare_image", validate=validate_prepare, run=run_prepare),
    TaskSpec(method="standbye.run_image", validate=boot_run.parse_params, run=run_run_image),
)

# What to do once a task's final `complete` status is acknowledged: method -> coroutine(backend, result).
AFTER_ACK: Mapping[str, Callable[[Backend, Mapping[str, Any]], Awaitable[None]]] = MappingProxyType(
    {"standbye.run_image": boot_run.after_ack}
)
