"""The agent's main loop — wiring only.

    Agent.run()  TaskGroup
      ├── TaskRunner.run()       owns the running tasks (they outlive any one connection)
      └── connection loop        dial (failover + backoff) -> one link at a time:
            TaskGroup
              ├── Connection.run()     reads, answers commands through the registry, keepalive pings
              ├── status outbox pump   task_status until answered (finals until acknowledged)
              └── log pump             buffered log records as `log` commands

The handshake is the first message on every link; nothing else is sent before the endpoint accepts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from teeth_agent.atomic_write import private_dir
from teeth_agent.backend.api import Backend
from teeth_agent.backend.types import Inventory
from teeth_agent.connection import CallTimeout, CommandFailed, Connection, ConnectionClosed, Reply
from teeth_agent.dial import Backoff, Dialer, EndpointUrl, Opener, Streams, open_endpoint
from teeth_agent.logforward import LogForwarder, Send
from teeth_agent.protocol import Command, ErrorPayload, JsonObject, LocalProtocolError, Role
from teeth_agent.tasks.outbox import SendStatus, StatusOutbox
from teeth_agent.tasks.records import TaskRecord
from teeth_agent.tasks.runner import TaskRunner
from teeth_agent.tasks.spec import AgentIdentity, CommandSet, CommandTable, StatusSources
from teeth_agent.tasks.store import JsonFileStore, TaskStore

log = logging.getLogger(__name__)

HANDSHAKE_BUDGET = 512 * 1024  # bytes; the line limit is 1 MiB

# Serials firmware vendors leave in place of a real one; none of them identifies a machine.
PLACEHOLDER_SERIALS = frozenset(
    {"", "0", "none", "n/a", "not specified", "not applicable", "default string", "system serial number",
     "to be filled by o.e.m.", "0123456789", "chassis serial number"}
)  # fmt: skip


def agent_version() -> str:
    try:
        return metadata.version("teeth-agent")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def choose_agent_id(inventory: Inventory | None, fallback: str) -> str:
    """The chassis serial when it is a real one, else the first MAC, else `fallback`."""
    if inventory is not None:
        for serial in (inventory.dmi.serial, inventory.dmi.baseboard_serial):
            if serial and serial.strip().lower() not in PLACEHOLDER_SERIALS:
                return serial.strip()
        for nic in inventory.nics:
            if nic.mac and nic.mac.strip("0:") != "":
                return nic.mac.lower()
    return fallback


@dataclass(frozen=True)
class AgentConfig:
    endpoints: tuple[EndpointUrl, ...]
    state_dir: Path
    agent_id: str | None = None
    token: str | None = None
    tls: ssl.SSLContext | None = None
    plugins: tuple[str, ...] = ()
    heartbeat_interval: float = 20.0
    call_timeout: float = 60.0
    handshake_timeout: float = 30.0
    connect_timeout: float = 15.0
    inventory_timeout: float = 60.0
    # Running updates: on change at most every `progress_interval`, at least every `progress_keepalive`
    # seconds of the backend's clock (a simulated fleet may want a longer keep-alive).
    progress_interval: float = 1.0
    progress_keepalive: float = 10.0
    # How long a task that acts after its final status (run_image: kexec/reboot) waits for the ack.
    ack_timeout: float = 300.0
    backoff: Backoff = field(default_factory=Backoff)


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        backend: Backend,
        *,
        logs: LogForwarder,
        store: TaskStore | None = None,
        commands: CommandSet,
        opener: Opener | None = None,
    ) -> None:
        self._config = config
        self._backend = backend
        self._logs = logs
        self._outbox = StatusOutbox()
        self._opener = opener or self._open
        self._commands = commands
        self._runner = TaskRunner(
            backend=backend,
            store=store or JsonFileStore(config.state_dir),
            state_dir=config.state_dir,
            to_error=commands.to_error,
            on_status=self._outbox.put,
            after_ack=commands.after_ack,
            ack_timeout=config.ack_timeout,
            min_interval=config.progress_interval,
            max_interval=config.progress_keepalive,
        )
        self._registry: CommandTable | None = None
        self._info: AgentIdentity | None = None
        # How the machine's network came up, when the identity step read the inventory (the ramdisk's
        # default: no agent id is configured there); sent in every handshake.
        self._network: Mapping[str, Any] | None = None

    async def _open(self, ep: EndpointUrl) -> Streams:
        return await open_endpoint(ep, self._config.tls)

    async def run(self) -> None:
        private_dir(self._config.state_dir)  # 0700 and ours, or the agent does not start
        self._info = await self._identify()
        self._registry = self._build_registry(self._info)
        self._runner.recover()
        log.info("agent %s (%s backend) starting", self._info.agent_id, self._info.backend)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._runner.run(), name="task-runner")
            tg.create_task(self._connect_forever(), name="connection")

    async def _identify(self) -> AgentIdentity:
        boot_id = await self._backend.boot_id()
        agent_id = self._config.agent_id
        if not agent_id:
            inventory: Inventory | None = None
            try:
                async with asyncio.timeout(self._config.inventory_timeout):
                    inventory = await self._backend.inventory()
            except Exception as exc:
                log.warning("inventory for the agent id failed: %s", exc)
            agent_id = choose_agent_id(inventory, f"boot-{boot_id}")
            self._network = inventory.network if inventory is not None else None
        return AgentIdentity(agent_id, agent_version(), boot_id, self._backend.name)

    def _build_registry(self, info: AgentIdentity) -> CommandTable:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sources = StatusSources(
            uptime=lambda: loop.time() - started,
            tasks=lambda: [r.brief() for r in self._runner.records()],
            inventory=self._backend.inventory,
        )
        return self._commands.build(info, sources, self._runner.start)

    # -- links ------------------------------------------------------------------------------------------

    async def _connect_forever(self) -> None:
        # No link before the runner accepts tasks: a task command must never meet a runner not yet running.
        await self._runner.wait_started()
        cfg = self._config
        dialer = Dialer(
            cfg.endpoints, opener=self._opener, backoff=cfg.backoff, connect_timeout=cfg.connect_timeout
        )
        loop = asyncio.get_running_loop()
        while True:
            ep, streams = await dialer.connect()
            began = loop.time()
            try:
                accepted = await self._serve(ep, streams)
            except Exception:
                # A bug in one link must not take the agent (and the machine's reachability) down.
                log.exception("link to %s failed unexpectedly", ep)
                accepted = False
            # Only a link that stayed up resets the backoff: an endpoint that accepts and then drops
            # every link at once must not be hammered by a fleet redialing twice a second.
            if accepted and loop.time() - began >= cfg.heartbeat_interval:
                dialer.accepted()
            else:
                dialer.failed()

    async def _serve(self, ep: EndpointUrl, streams: Streams) -> bool:
        conn = Connection(
            *streams,
            Role.AGENT,
            handler=self._handle,
            peer=str(ep),
            idle_interval=self._config.heartbeat_interval,
            call_timeout=self._config.call_timeout,
        )
        async with asyncio.TaskGroup() as tg:
            running = tg.create_task(conn.run(), name=f"link:{ep}")
            accepted = await self._handshake(conn)
            pumps = []
            if accepted:
                log.info("connected to %s", ep)
                statuses = self._outbox.pump(self._status_sender(conn), self._ack)
                pumps.append(tg.create_task(_until_closed(statuses)))
                pumps.append(tg.create_task(_until_closed(self._logs.pump(self._log_sender(conn)))))
            else:
                await conn.close()
            reason = await running
            for pump in pumps:
                pump.cancel()
        log.warning("link to %s ended: %s", ep, reason)
        return accepted

    async def _handshake(self, conn: Connection) -> bool:
        assert self._info is not None and self._registry is not None
        params: JsonObject = {
            "agent_id": self._info.agent_id,
            "agent_version": self._info.agent_version,
            "boot_id": self._info.boot_id,
            "backend": self._info.backend,
            "methods": list(self._registry.methods),
            "tasks": self._runner.outstanding(),
        }
        if len(json.dumps(params)) > HANDSHAKE_BUDGET:
            # Results travel again with each re-sent status; the handshake must fit in one line.
            params["tasks"] = self._runner.outstanding(brief=True)
        if self._network is not None:
            params["network"] = dict(self._network)
        if self._config.token is not None:
            params["token"] = self._config.token
        try:
            reply = await conn.call("handshake", params, timeout=self._config.handshake_timeout)
        except CommandFailed as exc:
            log.error("endpoint %s refused the handshake: %s", conn.peer, exc)
            return False
        except (CallTimeout, ConnectionClosed) as exc:
            log.warning("no handshake with %s: %s", conn.peer, exc)
            return False
        if reply.get("accepted") is not True:
            log.error("endpoint %s did not accept the handshake: %s", conn.peer, reply)
            return False
        interval = reply.get("heartbeat_interval")
        if isinstance(interval, int | float) and not isinstance(interval, bool) and 1 <= interval <= 3600:
            conn.idle_interval = float(interval)
        return True

    # -- adapters between the connection and the runtime -------------------------------------------------

    async def _handle(self, cmd: Command) -> Reply:
        assert self._registry is not None
        outcome = await self._registry.dispatch(cmd.method, cmd.params)
        if outcome.error is not None:
            e = outcome.error
            return ErrorPayload(str(e.get("msg", "")), str(e.get("type") or "internal"), e.get("details"))
        return outcome.result or {}

    def _status_sender(self, conn: Connection) -> SendStatus:
        async def send(params: JsonObject) -> bool:
            try:
                await conn.call("task_status", params)
            except CommandFailed:
                return False
            except LocalProtocolError as exc:
                # Cannot be put on the wire (the runner bounds results, so this is a bug): never retry it.
                log.error("task_status %s not sendable: %s", params.get("task_id"), exc)
                return False
            return True

        return send

    def _log_sender(self, conn: Connection) -> Send:
        async def send(params: JsonObject) -> None:
            # A log record the endpoint refused or did not answer in time is not worth stalling for.
            with contextlib.suppress(CommandFailed, CallTimeout, LocalProtocolError):
                await conn.call("log", params)

        return send

    def _ack(self, record: TaskRecord) -> None:
        self._runner.acknowledge(record.task_id, record.seq)


async def _until_closed(pump: Coroutine[Any, Any, None]) -> None:
    """Run a per-link pump; the link going down is its normal end."""
    with contextlib.suppress(ConnectionClosed):
        await pump
