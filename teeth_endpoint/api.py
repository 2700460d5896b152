"""The endpoint's async Python API: what tests, the control socket and operators' scripts use.

    async with Endpoint(token="s3cret") as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        agent = await ep.wait_for_agent(timeout=30)
        await ep.call(agent.agent_id, "status")
        final = await ep.run_task(agent.agent_id, "decom.disk_erase", {...}, on_progress=print)
        async for record in ep.logs(): ...

- `wait_for_agent(agent_id=None, timeout)`: the named agent (or any agent) once it is connected.
- `call(agent_id, method, params, timeout)`: the result object; `CommandFailed` for an error response,
  `AgentNotConnected`, `CallTimeout`, `ConnectionClosed` as in `teeth_agent.connection`.
- `run_task(agent_id, method, params, on_progress, timeout)`: starts a task (a `task_id` is generated
  unless given; the same `task_id` never starts work twice) and returns its final `task_status` params —
  `state` is `complete` (with `result`) or `error` (with `msg`/`error`). `on_progress` gets every new
  `running` status. A disconnect does not end the wait: the agent re-sends statuses when it is back.
- `agents()`, `tasks()`, `task(task_id)`: snapshots. `logs(backlog)`: recent then live log records.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType

from teeth_agent.protocol import JsonObject
from teeth_endpoint.fleet import AgentView, TaskView
from teeth_endpoint.gcpolicy import GcPolicy
from teeth_endpoint.server import AgentServer
from teeth_endpoint.wire import FINAL_STATES, LogRecord

OnProgress = Callable[[JsonObject], None]


class AgentNotConnected(LookupError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} is not connected")
        self.agent_id = agent_id


class Endpoint:
    def __init__(
        self,
        *,
        token: str | None = None,
        heartbeat_interval: float = 20.0,
        call_timeout: float = 60.0,
        line_limit: int | None = None,
        gc_policy: GcPolicy | None = None,
    ) -> None:
        self.server = AgentServer(
            token=token,
            heartbeat_interval=heartbeat_interval,
            call_timeout=call_timeout,
            line_limit=line_limit,
            gc_policy=gc_policy,
        )
        self.addresses: list[str] = []

    async def listen(self, url: str, tls: ssl.SSLContext | None = None) -> str:
        bound = await self.server.listen(url, tls)
        self.addresses.append(bound)
        return bound

    async def close(self) -> None:
        await self.server.close()

    async def __aenter__(self) -> Endpoint:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- snapshots -------------------------------------------------------------------------------------

    def agents(self) -> list[AgentView]:
        return self.server.fleet.agents()

    def tasks(self, agent_id: str | None = None) -> list[TaskView]:
        return self.server.fleet.tasks(agent_id)

    def task(self, task_id: str) -> TaskView | None:
        return self.server.fleet.task(task_id)

    # -- waiting and calling ---------------------------------------------------------------------------

    async def wait_for_agent(
        self,
        agent_id: str | None = None,
        timeout: float | None = 60.0,  # noqa: ASYNC109
    ) -> AgentView:
        async with asyncio.timeout(timeout):
            # No await between looking and starting to wait, so no change can slip in between.
            while (found := self._connected(agent_id)) is None:
                await self.server.hub.wait_agents_changed()
            return found

    def _connected(self, agent_id: str | None) -> AgentView | None:
        if agent_id is not None:
            info = self.server.fleet.agent(agent_id)
            return info if info is not None and info.connected else None
        return next((a for a in self.server.fleet.agents() if a.connected), None)

    async def call(
        self,
        agent_id: str,
        method: str,
        params: JsonObject | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> JsonObject:
        conn = self.server.links.get(agent_id)
        if conn is None:
            raise AgentNotConnected(agent_id)
        return await conn.call(method, params, timeout)

    async def run_task(
        self,
        agent_id: str,
        method: str,
        params: JsonObject | None = None,
        on_progress: OnProgress | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> JsonObject:
        params = dict(params or {})
        task_id = params.setdefault("task_id", uuid.uuid4().hex)
        if type(task_id) is not str:
            raise ValueError("task_id must be a string")
        with self.server.hub.watch_task(task_id) as updates:
            known = self.task(task_id)
            if known is not None and known.agent_id != agent_id:
                raise ValueError(f"task_id {task_id!r} belongs to agent {known.agent_id!r}")
            if known is not None and known.final:
                return dict(known.status)
            reply = await self.call(agent_id, method, params)
            if reply.get("state") in FINAL_STATES and reply.get("acked") is True:
                # Finished and acknowledged before (by an earlier endpoint run): no status will come again.
                return {k: v for k, v in reply.items() if k != "acked"}
            async with asyncio.timeout(timeout):
                return await _follow(updates.get, known, on_progress)

    def logs(self, backlog: int = 0) -> AsyncIterator[LogRecord]:
        return self.server.hub.logs(backlog)


async def _follow(
    next_update: Callable[[], Awaitable[TaskView]], current: TaskView | None, on_progress: OnProgress | None
) -> JsonObject:
    """Statuses until the final one; `current` is what was known when the watch began (later ones queue)."""
    view = current
    while view is None or not view.final:
        if view is not None and on_progress is not None:
            on_progress(dict(view.status))
        view = await next_update()
    return dict(view.status)
