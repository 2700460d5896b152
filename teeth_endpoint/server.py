"""The endpoint's agent side: listeners, one `Connection` per agent, and what agents send us.

- Listens on `tcp://HOST:PORT`, `tls://HOST:PORT` (mutual TLS: a client certificate signed by the CA is
  required) and `unix:///PATH`; port 0 picks a free port (`listen` returns the bound URL).
- The first message of a link must be `handshake` (the protocol session enforces it). With a shared token
  configured, a handshake without the right `token` is answered with an `unauthorized` error and the link
  is closed; bad handshake params likewise end the link with `invalid_params`.
- A newer link from the same `agent_id` replaces the older one. A second handshake on one link (an agent
  restarted behind a serial port, which has no connection boundary) starts the session over in place;
  one naming another agent ends the link.
- `task_status` is recorded (deduplicated by `(task_id, seq)`) and answered with `{}`, which is the
  acknowledgement the agent waits for before it stops re-sending a final status. A status that is new
  reaches the task's watchers; a duplicate reaches nobody.
- `log` records go to a bounded backlog and to subscribers.

Handlers here are synchronous: they answer inline, in order, without a task per message.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from teeth_agent.connection import Connection, Hangup, Reply
from teeth_agent.protocol import Command, ErrorPayload, JsonObject, Role
from teeth_endpoint.fleet import AgentTable, TaskView
from teeth_endpoint.gcpolicy import GcPolicy
from teeth_endpoint.hooks import LinkHooks
from teeth_endpoint.hub import Hub
from teeth_endpoint.listen_url import parse_listen_url
from teeth_endpoint.wire import BadParams, Handshake, parse_handshake, parse_log, parse_task_status

log = logging.getLogger(__name__)

STREAM_LIMIT = 2 << 20
BACKLOG = 4096  # a fleet reconnecting at once after an endpoint restart


def server_tls_context(cert: str, key: str, ca_file: str) -> ssl.SSLContext:
    """TLS for agents: our certificate; each agent must show a client certificate signed by `ca_file`."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(cert, key)
    return ctx


class _Link:
    """One agent connection and, once its handshake passed, whose it is."""

    __slots__ = ("agent_id", "conn", "tls_subject")

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.agent_id: str | None = None
        self.tls_subject: str | None = None  # the client certificate's subject CN (mutual TLS)


class AgentServer:
    def __init__(
        self,
        *,
        token: str | None = None,
        heartbeat_interval: float = 20.0,
        call_timeout: float = 60.0,
        line_limit: int | None = None,
        clock: Callable[[], float] = time.time,
        gc_policy: GcPolicy | None = None,
        hooks: LinkHooks | None = None,
    ) -> None:
        if token is not None and not token:
            raise ValueError("the shared token must not be empty")
        self.fleet = AgentTable()
        self.hub = Hub()
        self.links: dict[str, Connection] = {}
        self._token = token.encode() if token is not None else None
        self._heartbeat = heartbeat_interval
        self._call_timeout = call_timeout
        self._line_limit = line_limit
        self._clock = clock
        self._gc = gc_policy
        self.hooks = hooks  # durable records (the control plane), if any
        self._servers: list[asyncio.Server] = []
        self._active: set[Connection] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    # -- listening -------------------------------------------------------------------------------------

    async def listen(self, url: str, tls: ssl.SSLContext | None = None) -> str:
        """Start accepting agents at `url`; returns the URL actually bound (port 0 resolved)."""
        ep = parse_listen_url(url)
        if ep.scheme == "tls" and tls is None:
            raise ValueError(f"{url}: tls:// needs a certificate, key and CA file")
        if ep.scheme in ("tcp", "tls"):
            server = await asyncio.start_server(
                self.serve,
                ep.host,
                ep.port,
                ssl=tls if ep.scheme == "tls" else None,
                limit=STREAM_LIMIT,
                backlog=BACKLOG,
                reuse_address=True,
            )
            self._servers.append(server)
            host, port = server.sockets[0].getsockname()[:2]
            return f"{ep.scheme}://{host}:{port}"
        remove_stale_socket(ep.path)
        server = await asyncio.start_unix_server(self.serve, ep.path, limit=STREAM_LIMIT, backlog=BACKLOG)
        self._servers.append(server)
        return f"unix://{ep.path}"

    async def close(self) -> None:
        """Stop listening and end every link."""
        for server in self._servers:
            server.close()
        for conn in list(self._active):
            conn.close_soon("endpoint shutting down")
        await self._idle.wait()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    # -- one link --------------------------------------------------------------------------------------

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_name(writer)
        link = _Link()
        link.tls_subject = _tls_subject(writer)
        conn = Connection(
            reader,
            writer,
            Role.ENDPOINT,
            handler=lambda cmd: self._handle(link, cmd),
            peer=peer,
            idle_interval=self._heartbeat,
            call_timeout=self._call_timeout,
            line_limit=self._line_limit,
        )
        link.conn = conn
        self._active.add(conn)
        self._idle.clear()
        if self._gc is not None:
            self._gc.link_opened()
        try:
            reason = await conn.run()
        finally:
            self._active.discard(conn)
            if not self._active:
                self._idle.set()
            if self._gc is not None:
                self._gc.link_closed()
            if link.agent_id is not None and self.links.get(link.agent_id) is conn:
                del self.links[link.agent_id]
                if self.hooks is not None:
                    self.hooks.link_down(link.agent_id, conn)
                gone = self.fleet.disconnected(link.agent_id, self._clock())
                if gone is not None:
                    self.hub.agent_changed(gone)
        log.debug("link %s (%s) ended: %s", peer, link.agent_id or "no handshake", reason)

    def _handle(self, link: _Link, cmd: Command) -> Reply | Awaitable[Reply]:
        try:
            if link.agent_id is None:
                return self._first_handshake(link, cmd)
            if cmd.method == "task_status":
                return self._task_status(link.agent_id, cmd.params)
            if cmd.method == "log":
                record = parse_log(link.agent_id, cmd.params)
                self.hub.publish_log(record)
                if self.hooks is not None:
                    self.hooks.log_received(record)
                return {}
            if cmd.method == "handshake":
                return self._handshake_again(link, cmd)
            return ErrorPayload(f"the endpoint has no method {cmd.method!r}", "unknown_method")
        except BadParams as exc:
            return ErrorPayload(str(exc), "invalid_params", {"field": exc.field})

    def _first_handshake(self, link: _Link, cmd: Command) -> Reply | Awaitable[Reply]:
        # Any handshake that is not accepted ends the link, whatever went wrong: an unauthenticated peer
        # must never keep a session open (a lone surrogate token once made this `internal` and left it).
        try:
            checked = self._checked_handshake(link, cmd)
            return checked if checked is not None else self._handshake(link, cmd)
        except Hangup:
            raise
        except Exception as exc:
            peer = link.conn.peer if link.conn else "?"
            log.warning("handshake from %s failed: %s", peer, type(exc).__name__)
            raise Hangup(ErrorPayload("handshake refused", "unauthorized")) from None

    def _handshake(self, link: _Link, cmd: Command, token_checked: bool = False) -> Reply:
        # The session guarantees this is the handshake command. The token is checked before anything
        # else is looked at, so an unauthenticated peer learns nothing.
        if self._token is not None and not token_checked:
            token = cmd.params.get("token")
            if type(token) is not str or not hmac.compare_digest(token.encode(), self._token):
                raise Hangup(ErrorPayload("handshake token missing or wrong", "unauthorized"))
        try:
            hs = parse_handshake(cmd.params)
        except BadParams as exc:
            bad = ErrorPayload(f"bad handshake: {exc}", "invalid_params", {"field": exc.field})
            raise Hangup(bad) from None
        assert link.conn is not None
        self._register(link, hs)
        return {"accepted": True, "heartbeat_interval": self._heartbeat}

    def _checked_handshake(self, link: _Link, cmd: Command) -> Awaitable[Reply] | None:
        """The control plane's credential check (per-agent tokens, TLS subjects), if it has one."""
        if self.hooks is None:
            return None
        assert link.conn is not None
        verdict = self.hooks.check_credential(cmd.params, link.conn.peer, link.tls_subject)
        if verdict is None:
            return None

        async def then() -> Reply:
            problem = await verdict
            if problem is not None:
                log.warning("handshake from %s claiming agent %r refused: %s", link.conn and link.conn.peer,
                            str(cmd.params.get("agent_id"))[:128], problem)
                raise Hangup(ErrorPayload(problem, "unauthorized"))
            return self._handshake(link, cmd, token_checked=True)

        return then()

    def _handshake_again(self, link: _Link, cmd: Command) -> Reply:
        # A serial port has no connection boundary: an agent restarted behind it handshakes into the
        # session its predecessor left. Closing that session would not help (the port stays open, and
        # what the agent wrote meanwhile arrives in the next one), so the same agent starts over in
        # place; a link never changes whose it is.
        if cmd.params.get("agent_id") != link.agent_id:
            raise Hangup(ErrorPayload("handshake for another agent on an established link", "invalid_params"))
        log.info("agent %s handshook again on its link (restarted behind a stream that did not end)",
                 link.agent_id)
        return self._handshake(link, cmd)

    def _register(self, link: _Link, hs: Handshake) -> None:
        assert link.conn is not None
        old = self.links.get(hs.agent_id)
        if old is not None and old is not link.conn:
            old.close_soon("replaced by a newer connection from the same agent")
        link.agent_id = hs.agent_id
        self.links[hs.agent_id] = link.conn
        info, rebooted = self.fleet.connected(hs, link.conn.peer, self._clock())
        if self.hooks is not None:
            self.hooks.link_up(hs.agent_id, link.conn, hs)
        if rebooted:
            log.info("agent %s rebooted (boot %s)", hs.agent_id, hs.boot_id)
        # Tasks the agent still holds (unfinished or unacknowledged) tell a restarted endpoint where
        # they stand; statuses we already have are duplicates and change nothing.
        for summary in hs.tasks:
            try:
                self._record(hs.agent_id, summary)
            except BadParams as exc:
                log.debug("agent %s listed an unreadable task: %s", hs.agent_id, exc)
        self.hub.agent_changed(info)

    def _task_status(self, agent_id: str, params: JsonObject) -> Reply | Awaitable[Reply]:
        self._record(agent_id, params)
        if self.hooks is not None:
            durable = self.hooks.status_received(agent_id, parse_task_status(params))
            if durable is not None:
                return _ack_once(durable)  # acknowledged only once the status is written
        return {}  # the acknowledgement

    def _record(self, agent_id: str, params: JsonObject) -> TaskView | None:
        status = parse_task_status(params)
        known = self.fleet.task(status.task_id)
        if known is not None and known.agent_id != agent_id:
            raise BadParams("task_id", "belongs to another agent")
        view = self.fleet.record(agent_id, status, self._clock())
        if view is not None:
            self.hub.publish_task(view)
        return view


async def _ack_once(durable: Awaitable[None]) -> Reply:
    await durable
    return {}


def remove_stale_socket(path: str) -> None:
    """A socket file left by an earlier run would make bind() fail; anything else there is not ours."""
    p = Path(path)
    if p.is_socket():
        p.unlink()


def _tls_subject(writer: asyncio.StreamWriter) -> str | None:
    cert = writer.get_extra_info("peercert")
    if not isinstance(cert, dict):
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _peer_name(writer: asyncio.StreamWriter) -> str:
    name = writer.get_extra_info("peername")
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    sock = writer.get_extra_info("sockname")
    return f"unix:{sock}" if sock else f"pid-{os.getpid()}-link"
