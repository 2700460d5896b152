"""The control plane: an `Endpoint` (the agents' links, in memory) joined to a `Store` (everything durable).

    store = await open_store(state_dir=DIR)            # or url="postgresql://..."
    async with ControlPlane(endpoint, store) as plane:  # hooks itself into endpoint.server
        task = await plane.start_task("node-1", "decom.disk_erase", {...}, started_by="api")
        task = await plane.wait_task(task.task_id, timeout=600)

- Statuses go through a batcher; the agent's `task_status` is answered once its batch committed, so
  an acknowledged status is on disk (or in PostgreSQL). While the database is away, statuses wait
  unanswered (the agent re-sends them) and the links stay up.
- Several instances share one PostgreSQL. Each holds some agents' links; `call` on any instance reaches
  the agent through its holder: a row in `commands`, a NOTIFY to the holder, the reply row and a NOTIFY
  back. A new link bumps the agent's epoch and fences older links everywhere (their holder closes
  them on the NOTIFY); a fenced instance's later writes about the agent change nothing.
- Watchers learn of every committed change from the store's events (NOTIFY on PostgreSQL, in-process
  on SQLite) and re-read the store: what any instance wrote, every instance's watchers see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

from teeth_agent.connection import CallTimeout, CommandFailed, Connection, ConnectionClosed
from teeth_agent.protocol import ErrorPayload, JsonObject
from teeth_endpoint.api import AgentNotConnected, Endpoint
from teeth_endpoint.batcher import Batcher
from teeth_endpoint.credentials import Credentials
from teeth_endpoint.hub import Feed
from teeth_endpoint.store import Store, StoreUnavailable
from teeth_endpoint.store.records import LinkDown, LinkUp, StatusIn, TaskRecord
from teeth_endpoint.wire import FINAL_STATES, BadParams, Handshake, LogRecord, TaskStatus, parse_task_status

log = logging.getLogger(__name__)

BEAT = 5.0  # instance heartbeat; the store counts an instance gone after INSTANCE_TTL without one
COMMAND_POLL = 2.0  # a remote call re-reads its reply this often, in case a NOTIFY was missed
INVENTORY_METHODS = {"status": "status", "decom.qc": "qc"}


class ControlPlane:
    def __init__(
        self,
        endpoint: Endpoint,
        store: Store,
        *,
        instance_id: str | None = None,
        clock: Callable[[], float] = time.time,
        call_timeout: float = 60.0,
        credentials: Credentials | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.credentials = credentials
        self.store = store
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self._clock = clock
        self._call_timeout = call_timeout
        self._statuses: Batcher[StatusIn, None] = Batcher("task statuses", self._write_statuses)
        self._ups: Batcher[LinkUp, int] = Batcher("agent links", self._write_ups)
        self._downs: Batcher[LinkDown, bool] = Batcher("agent unlinks", self._write_downs)
        self._logs: Batcher[LogRecord, None] = Batcher("logs", self._write_logs, max_batch=5000)
        self._epochs: dict[Connection, asyncio.Future[int]] = {}
        self._task_feeds: dict[str, set[Feed[int]]] = {}
        self._log_feeds: set[Feed[int]] = set()
        self._replies: dict[int, asyncio.Future[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._runner: asyncio.TaskGroup | None = None
        self._loops: list[asyncio.Task[None]] = []
        self.stats = {"statuses": 0, "finals": 0, "certificates": 0, "bad_seals": 0, "remote_calls": 0}

    def now(self) -> float:
        return self._clock()

    # -- life ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        now = self._clock()
        if not self.store.shared:
            await self.store.forget_links(now)  # one instance: the links of an earlier run are gone
        await self.store.instance_beat(self.instance_id, now)
        for batcher in (self._statuses, self._ups, self._downs, self._logs):
            batcher.start()
        ready = asyncio.Event()
        self._loops = [
            asyncio.create_task(self._listen(ready), name="store events"),
            asyncio.create_task(self._beat(), name="instance heartbeat"),
        ]
        await ready.wait()
        self.endpoint.server.hooks = self
        await self._run_queued_commands()

    async def close(self) -> None:
        self.endpoint.server.hooks = None
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        for task in list(self._background):
            task.cancel()
        for batcher in (self._statuses, self._ups, self._downs, self._logs):
            await batcher.close()
        with contextlib.suppress(StoreUnavailable):
            await self.store.instance_gone(self.instance_id, self._clock())

    async def __aenter__(self) -> ControlPlane:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(BEAT)
            try:
                await self.store.instance_beat(self.instance_id, self._clock())
            except StoreUnavailable as exc:
                log.warning("instance heartbeat: %s", exc)

    # -- hooks from the agent server -------------------------------------------------------------------

    def check_credential(self, params: JsonObject, peer: str, tls_subject: str | None) -> Any:
        if self.credentials is None:
            return None
        return self._check(params, tls_subject)

    async def _check(self, params: JsonObject, tls_subject: str | None) -> str | None:
        agent_id, token = params.get("agent_id"), params.get("token")
        if type(agent_id) is not str or (token is not None and type(token) is not str):
            return None  # the handshake parser names what is wrong
        assert self.credentials is not None
        try:
            verdict = await self.credentials.check(agent_id, token, tls_subject=tls_subject)
        except StoreUnavailable:
            return "the endpoint cannot check credentials now (its database is away); try again"
        return None if verdict.ok else verdict.why

    def link_up(self, agent_id: str, conn: Connection, hs: Handshake) -> None:
        up = LinkUp(agent_id, hs.boot_id, hs.agent_version, hs.backend, hs.methods, conn.peer,
                    self.instance_id, self._clock())  # fmt: skip
        if conn not in self._epochs:
            self._epochs[conn] = self._ups.submit(up)
        for summary in hs.tasks:  # what the agent still holds: durable too (duplicates change nothing)
            with contextlib.suppress(BadParams):
                self._statuses.submit(self._status_in(agent_id, parse_task_status(summary)))

    def link_down(self, agent_id: str, conn: Connection) -> None:
        epoch = self._epochs.pop(conn, None)
        if epoch is not None:
            self._spawn(self._unlink(agent_id, epoch))

    async def _unlink(self, agent_id: str, epoch: asyncio.Future[int]) -> None:
        # After the link's own record is written: an unlink never overtakes its link.
        await self._downs.submit(LinkDown(agent_id, self.instance_id, await epoch, self._clock()))

    def status_received(self, agent_id: str, status: TaskStatus) -> asyncio.Future[None]:
        return self._statuses.submit(self._status_in(agent_id, status))

    def log_received(self, record: LogRecord) -> None:
        self._logs.submit(record)

    def _status_in(self, agent_id: str, status: TaskStatus) -> StatusIn:
        return StatusIn(agent_id, status.task_id, status.method, status.seq, status.state, status.params,
                        self._clock())  # fmt: skip

    # -- batched writes --------------------------------------------------------------------------------

    async def _write_statuses(self, batch: list[StatusIn]) -> list[None]:
        outcome = await self.store.write_statuses(batch)
        self.stats["statuses"] += len(batch)
        self.stats["finals"] += len(outcome.new_finals)
        self.stats["certificates"] += outcome.certificates
        self.stats["bad_seals"] += len(outcome.bad_seals)
        for task_id, why in outcome.bad_seals:
            log.warning("task %s: a certificate was not stored: its seal does not hold (%s)", task_id, why)
        finals = set(outcome.new_finals)
        for s in batch:
            kind = INVENTORY_METHODS.get(s.method)
            if s.task_id in finals and kind == "qc" and s.state == "complete":
                result = s.params.get("result")
                if isinstance(result, dict):
                    await self.store.put_inventory(s.agent_id, kind, result, s.received)
        return [None] * len(batch)

    async def _write_ups(self, batch: list[LinkUp]) -> list[int]:
        return [record.epoch for record in await self.store.agents_connected(batch)]

    async def _write_downs(self, batch: list[LinkDown]) -> list[bool]:
        return await self.store.agents_disconnected(batch)

    async def _write_logs(self, batch: list[LogRecord]) -> list[None]:
        await self.store.add_logs(batch, self._clock())
        return [None] * len(batch)

    # -- events from every instance --------------------------------------------------------------------

    async def _listen(self, ready: asyncio.Event) -> None:
        async for payload in self.store.events(ready):
            try:
                self._on_event(json.loads(payload) if payload else {"k": "resync"})
            except Exception:
                log.exception("store event %r not handled", payload)

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind = ev.get("k")
        if kind == "task":
            for feed in self._task_feeds.get(ev["t"], ()):
                feed.put(int(ev["s"]))
        elif kind == "log":
            for lfeed in self._log_feeds:
                lfeed.put(0)
        elif kind == "link" and ev.get("i") != self.instance_id:
            self._fence(ev["a"], int(ev["e"]), ev["i"])
        elif kind == "cmd" and ev.get("to") == self.instance_id:
            self._spawn(self._serve_command(int(ev["c"])))
        elif kind == "reply" and ev.get("to") == self.instance_id:
            waiter = self._replies.get(int(ev["c"]))
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif kind == "resync":  # events may have been missed: wake everyone to re-read
            for feeds in self._task_feeds.values():
                for feed in feeds:
                    feed.put(-1)
            for waiter in self._replies.values():
                if not waiter.done():
                    waiter.set_result(None)
            self._spawn(self._run_queued_commands())

    def _fence(self, agent_id: str, epoch: int, holder: str) -> None:
        conn = self.endpoint.server.links.get(agent_id)
        if conn is None:
            return
        mine = self._epochs.get(conn)
        if mine is not None and mine.done() and not mine.cancelled() and mine.result() < epoch:
            log.info("agent %s linked to instance %s (epoch %d): closing our older link",
                     agent_id, holder, epoch)
            conn.close_soon(f"replaced by a newer link on endpoint instance {holder}")

    # -- calls, local or through the holder ------------------------------------------------------------

    async def call(
        self,
        agent_id: str,
        method: str,
        params: JsonObject | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> JsonObject:
        params = params or {}
        if agent_id in self.endpoint.server.links:
            result = await self.endpoint.call(agent_id, method, params, timeout)
        elif self.store.shared:
            result = await self._remote_call(agent_id, method, params, timeout or self._call_timeout)
        else:
            raise AgentNotConnected(agent_id)
        kind = INVENTORY_METHODS.get(method)
        if kind == "status":
            await self.store.put_inventory(agent_id, kind, result, self._clock())
        return result

    async def _remote_call(
        self, agent_id: str, method: str, params: JsonObject, timeout: float  # noqa: ASYNC109
    ) -> JsonObject:
        holder = await self.store.holder(agent_id)
        if holder is None or holder[0] == self.instance_id:
            raise AgentNotConnected(agent_id)
        self.stats["remote_calls"] += 1
        cid = await self.store.add_command(agent_id=agent_id, origin=self.instance_id, target=holder[0],
                                           method=method, params=params, now=self._clock())  # fmt: skip
        try:
            async with asyncio.timeout(timeout):
                while (reply := await self.store.command_reply(cid)) is None:
                    waiter = self._replies[cid] = asyncio.get_running_loop().create_future()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(waiter), COMMAND_POLL)
        except TimeoutError:
            raise CallTimeout(
                f"{method} to {agent_id} via instance {holder[0]}: no answer in {timeout:g} s"
            ) from None
        finally:
            self._replies.pop(cid, None)
        self._spawn(self._forget_command(cid))
        if reply.get("ok"):
            result = reply.get("result")
            return result if isinstance(result, dict) else {}
        error = reply.get("error") or {}
        etype = str(error.get("type", "internal"))
        if etype == "not_connected":
            raise AgentNotConnected(agent_id)
        if etype == "disconnected":
            raise ConnectionClosed(str(error.get("msg", "")))
        raise CommandFailed(ErrorPayload(str(error.get("msg", "")), etype, error.get("details")))

    async def _forget_command(self, cid: int) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self.store.drop_command(cid)

    async def _run_queued_commands(self) -> None:
        with contextlib.suppress(StoreUnavailable):
            for cid in await self.store.queued_commands(self.instance_id):
                self._spawn(self._serve_command(cid))

    async def _serve_command(self, cid: int) -> None:
        """Run a command another instance queued for an agent whose link we hold; write the reply."""
        command = await self.store.claim_command(cid, self.instance_id)
        if command is None:
            return
        reply: JsonObject
        try:
            result = await self.endpoint.call(command.agent_id, command.method, command.params)
            reply = {"ok": True, "result": result}
        except CommandFailed as exc:
            reply = {"ok": False, "error": exc.error.to_wire()}
        except AgentNotConnected as exc:
            reply = {"ok": False, "error": {"type": "not_connected", "msg": str(exc)}}
        except ConnectionClosed as exc:
            reply = {"ok": False, "error": {"type": "disconnected", "msg": exc.reason}}
        except (CallTimeout, TimeoutError) as exc:
            reply = {"ok": False, "error": {"type": "timeout", "msg": str(exc) or "timed out"}}
        await self.store.finish_command(cid, command.origin, reply)

    # -- tasks -----------------------------------------------------------------------------------------

    async def start_task(
        self, agent_id: str, method: str, params: JsonObject | None = None, *, started_by: str = "api"
    ) -> TaskRecord:
        """Record the task, then start it on the agent (wherever its link is). Starting an existing
        task_id again starts nothing new: the agent answers with what it has."""
        params = dict(params or {})
        task_id = params.setdefault("task_id", uuid.uuid4().hex)
        if type(task_id) is not str or not task_id or len(task_id) > 256:
            raise ValueError("task_id must be a non-empty string of at most 256 characters")
        stored = {k: v for k, v in params.items() if k != "task_id"}
        record = await self.store.task_started(task_id=task_id, agent_id=agent_id, method=method,
                                               params=stored, started_by=started_by, now=self._clock())
        if record.final:
            return record
        reply = await self.call(agent_id, method, params)
        if reply.get("state") in FINAL_STATES and reply.get("acked") is True:
            # Finished and acknowledged before this store knew it: the agent will not send it again.
            status = {k: v for k, v in reply.items() if k != "acked"}
            status.setdefault("seq", 1 << 40)
            with contextlib.suppress(BadParams):
                await self.status_received(agent_id, parse_task_status({**status, "task_id": task_id}))
        return await self.task(task_id) or record

    async def task(self, task_id: str) -> TaskRecord | None:
        return await self.store.task(task_id)

    async def wait_task(self, task_id: str, timeout: float) -> TaskRecord | None:  # noqa: ASYNC109
        """The task once final, or as it stands when `timeout` runs out."""
        with self.watch_task(task_id) as feed:
            record = await self.store.task(task_id)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    while record is not None and not record.final:
                        await feed.get()
                        record = await self.store.task(task_id)
            return record

    @contextlib.contextmanager
    def watch_task(self, task_id: str) -> Any:
        """A feed woken (with the new seq) by every committed status of the task, on any instance."""
        feed: Feed[int] = Feed(1000)
        self._task_feeds.setdefault(task_id, set()).add(feed)
        try:
            yield feed
        finally:
            feeds = self._task_feeds[task_id]
            feeds.discard(feed)
            if not feeds:
                del self._task_feeds[task_id]

    async def follow_task(self, task_id: str) -> AsyncIterator[JsonObject]:
        """Every status of the task in seq order (history first), until the final one."""
        last = -2
        with self.watch_task(task_id) as feed:
            while True:
                for status in await self.store.statuses(task_id):
                    seq = status.get("seq")
                    if isinstance(seq, int) and seq > last:
                        last = seq
                        yield status
                        if status.get("state") in FINAL_STATES:
                            return
                await feed.get()

    # -- logs ------------------------------------------------------------------------------------------

    async def follow_logs(
        self, *, agent_id: str | None = None, backlog: int = 50
    ) -> AsyncIterator[LogRecord]:
        """Recent then live log records of every instance's agents, until the consumer stops."""
        feed: Feed[int] = Feed(1)
        self._log_feeds.add(feed)
        try:
            after = max(await self.store.last_log_id() - backlog, 0) if backlog >= 0 else 0
            while True:
                rows = await self.store.logs(after=after, agent_id=agent_id)
                for log_id, record in rows:
                    after = log_id
                    yield record
                if len(rows) < 1000:
                    await feed.get()
        finally:
            self._log_feeds.discard(feed)
