"""asyncio streams <-> a protocol `Session`: the one I/O loop both the agent and the endpoint use.

    conn = Connection(reader, writer, Role.AGENT, handler=registry.handle, peer="tcp://10.0.0.1:9999")
    async with asyncio.TaskGroup() as tg:
        runner = tg.create_task(conn.run())          # returns the close reason when the link ends
        reply = await conn.call("handshake", {...})  # JsonObject; raises CommandFailed / CallTimeout / ...
        conn.notify("log", {...})                    # fire and forget; the response is consumed and dropped

API
- `run()`: reads until the link ends and returns why (a short string). Owns every task it starts (the read
  loop, command handlers; the keepalive is a timer) and cancels them when it ends. `call`/`notify` need
  `run()` going to see responses.
- `call(method, params=None, timeout=None)`: sends a command, awaits its response. `CommandFailed(error)`
  carries the peer's `ErrorPayload`; `CallTimeout` after `timeout` (default `call_timeout`, 60 s) — a local
  error, the late response is dropped; `ConnectionClosed` if the link is (or goes) down.
- `notify(method, params=None)`: sends a command without waiting; an error response is logged at debug.
- `handler(command)`: serves the peer's commands (not `ping`: the connection echoes pings itself, inline).
  It returns the `result` object or an `ErrorPayload`, either directly (answered inline, in order) or as
  an awaitable (run in its own task, at most `max_concurrent` at once; reading pauses beyond that). Raising
  `Hangup(payload)` answers with that error and then closes (e.g. `unauthorized`). Any other exception
  becomes an `internal` error with no traceback on the wire.
- `close(fatal=None)` / `close_soon(fatal=None)`: end the link, first sending `fatal_error` if given.
- A peer has one `idle_interval` to complete the handshake, else the link is closed.
- Liveness: if nothing arrives for `idle_interval` seconds (settable: the endpoint's `heartbeat_interval`
  may change it) a `ping` goes out; after 3 silent intervals the link is closed.
- Writes never block; if the peer stops reading and our unsent bytes exceed `max_write_buffer`, the link
  is aborted (bounded memory), reason "peer is not reading".
- Protocol violations send `fatal_error` and close; a peer's `fatal_error` closes. Pending calls then fail
  with `ConnectionClosed`.

Logging here is at debug level only and never per message: the agent forwards its log records over this
very connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from teeth_agent.protocol import (
    NEED_DATA,
    Command,
    EndOfStream,
    Error,
    ErrorPayload,
    Fatal,
    JsonObject,
    LocalProtocolError,
    Message,
    Role,
    Session,
    State,
    Success,
    Violation,
)

log = logging.getLogger(__name__)

Reply = JsonObject | ErrorPayload
Handler = Callable[[Command], Reply | Awaitable[Reply]]
READ_CHUNK = 64 * 1024
LINGER = 1.0  # seconds spent flushing a fatal_error to a peer before closing


class ConnectionClosed(Exception):
    """The link is down; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallTimeout(TimeoutError):
    """No response within the call's timeout (a local error: the connection stays up)."""


class CommandFailed(Exception):
    """The peer answered our command with an `error`."""

    def __init__(self, error: ErrorPayload) -> None:
        super().__init__(f"{error.type}: {error.msg}")
        self.error = error


class Hangup(Exception):
    """Raised by a handler: answer with `error`, then close the connection."""

    def __init__(self, error: ErrorPayload) -> None:
        super().__init__(error.msg)
        self.error = error


def _unknown(cmd: Command) -> Reply:
    return ErrorPayload(f"unknown method {cmd.method!r}", "unknown_method")


class Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        role: Role,
        *,
        handler: Handler = _unknown,
        peer: str = "peer",
        idle_interval: float = 20.0,
        call_timeout: float = 60.0,
        max_write_buffer: int = 4 << 20,
        max_concurrent: int = 32,
        line_limit: int | None = None,
    ) -> None:
        self.session = Session(role) if line_limit is None else Session(role, line_limit=line_limit)
        self.peer = peer
        self.idle_interval = idle_interval
        self.call_timeout = call_timeout
        self.close_reason: str | None = None
        self._reader, self._writer = reader, writer
        self._handler = handler
        self._max_write_buffer = max_write_buffer
        self._max_concurrent = max_concurrent
        self._slots: asyncio.Semaphore | None = None  # made on the first awaitable handler
        self._waiters: dict[str, asyncio.Future[Success | Error] | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._tg: asyncio.TaskGroup | None = None
        self._reading: asyncio.Task[None] | None = None
        self._keepalive: asyncio.TimerHandle | None = None
        self._opened = self._last_rx = asyncio.get_running_loop().time()
        self._abort = False
        self._sent_fatal = False

    @property
    def closed(self) -> bool:
        return self.close_reason is not None

    # -- running ---------------------------------------------------------------------------------------

    async def run(self) -> str:
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                self._schedule_keepalive(self.idle_interval)
                self._reading = self._spawn(self._read_loop())
                # Ends with the read loop: end of stream, a violation, or _shutdown cancelling it.
                await asyncio.wait([self._reading])
                for task in list(self._tasks):
                    task.cancel()
        finally:
            self._shutdown("connection cancelled")
            await self._finish()
        return self.close_reason or "closed"

    async def _finish(self) -> None:
        """Close the transport. After a fatal error, half-close and drain the peer for a moment first:
        closing with unread input makes TCP send a reset, which could destroy the fatal_error in flight."""
        writer = self._writer
        if self._abort:
            writer.transport.abort()
            return
        try:
            if self._sent_fatal and writer.can_write_eof():
                writer.write_eof()
                async with asyncio.timeout(LINGER):
                    while await self._reader.read(READ_CHUNK):
                        pass
        except (OSError, RuntimeError, TimeoutError):
            pass  # best effort: the peer is being dropped either way
        writer.close()
        try:
            async with asyncio.timeout(LINGER):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        assert self._tg is not None
        task: asyncio.Task[None] = self._tg.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read_loop(self) -> None:
        session = self.session
        loop = asyncio.get_running_loop()
        while not self.closed:
            try:
                data = await self._reader.read(READ_CHUNK)
            except OSError as exc:  # reset, TLS failure, ...
                self._shutdown(f"connection lost: {exc}")
                return
            self._last_rx = loop.time()
            session.receive_data(data)
            while (event := session.next_event()) is not NEED_DATA:
                if isinstance(event, Command):
                    await self._on_command(event)
                elif isinstance(event, Success | Error):
                    self._on_response(event)
                else:
                    self._on_terminal(event)
                    return
                if self.closed:
                    return

    def _on_terminal(self, event: Fatal | Violation | EndOfStream) -> None:
        if isinstance(event, Violation):
            self._shutdown(f"protocol violation by peer: {event.reason}", fatal=event.reason)
        elif isinstance(event, Fatal):
            self._shutdown(f"peer sent fatal_error: {event.fatal_error[:200]}")
        elif event.truncated:
            self._shutdown(f"peer closed mid-message ({event.truncated} bytes of an unfinished line)")
        else:
            self._shutdown("peer closed the connection")

    # A timer callback rather than a task: at 10,000 links, every object per link counts (the cyclic
    # GC's full passes grow with them, and so does p99 latency).
    def _schedule_keepalive(self, delay: float) -> None:
        self._keepalive = asyncio.get_running_loop().call_later(delay, self._keepalive_tick)

    def _keepalive_tick(self) -> None:
        if self.closed:
            return
        now = asyncio.get_running_loop().time()
        interval = self.idle_interval
        if self.session.state is State.AWAIT_HANDSHAKE:
            # Nothing but the handshake may be sent before it, so there is no ping to keep a silent or
            # dribbling peer honest: it gets one interval to handshake.
            waited = now - self._opened
            if waited >= interval:
                self._shutdown(f"no handshake within {interval:g} s")
            else:
                self._schedule_keepalive(interval - waited)
            return
        idle = now - self._last_rx
        if idle >= 3 * interval:
            self._shutdown(f"no traffic from peer for {idle:.0f} s")
            return
        if idle < interval:
            self._schedule_keepalive(interval - idle)
            return
        try:
            self.notify("ping", {})
        except (LocalProtocolError, ConnectionClosed):
            return  # the link is ending anyway
        if not self.closed:
            self._schedule_keepalive(interval)

    # -- incoming --------------------------------------------------------------------------------------

    async def _on_command(self, cmd: Command) -> None:
        if cmd.method == "ping":
            self._send(Success(cmd.id, cmd.params))
            return
        try:
            reply = self._handler(cmd)
        except Exception as exc:
            self._answer(cmd, self._failure(cmd, exc))
            return
        if not inspect.isawaitable(reply):
            self._answer(cmd, reply)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_concurrent)
        await self._slots.acquire()  # back-pressure: stop reading while too many handlers run
        self._spawn(self._serve(cmd, reply))

    async def _serve(self, cmd: Command, pending: Awaitable[Reply]) -> None:
        try:
            reply: Reply | Hangup = await pending
        except Exception as exc:
            reply = self._failure(cmd, exc)
        finally:
            assert self._slots is not None
            self._slots.release()
        self._answer(cmd, reply)

    def _failure(self, cmd: Command, exc: Exception) -> Hangup | ErrorPayload:
        if isinstance(exc, Hangup):
            return exc
        log.debug("handler for %s failed", cmd.method, exc_info=True)
        return ErrorPayload(f"{cmd.method} failed: internal error ({type(exc).__name__})", "internal")

    def _answer(self, cmd: Command, reply: Reply | Hangup) -> None:
        if self.closed:
            return
        outcome = reply.error if isinstance(reply, Hangup) else reply
        try:
            if isinstance(outcome, ErrorPayload):
                self._send(Error(cmd.id, outcome))
            else:
                self._send(Success(cmd.id, outcome))
        except LocalProtocolError as exc:  # the handler returned something that cannot go on the wire
            log.debug("reply to %s not sendable: %s", cmd.method, exc)
            self._send(Error(cmd.id, ErrorPayload(f"{cmd.method} failed: unsendable result", "internal")))
        if isinstance(reply, Hangup):
            self._shutdown(f"closed after answering {cmd.method}: {reply.error.type}")

    def _on_response(self, resp: Success | Error) -> None:
        waiter = self._waiters.pop(resp.id, None)
        if waiter is None:
            if isinstance(resp, Error):
                log.debug("notification %s failed: %s", resp.id, resp.error.msg)
        elif not waiter.done():
            waiter.set_result(resp)

    # -- outgoing --------------------------------------------------------------------------------------

    # A per-call timeout is the documented interface (callers mostly take the default).
    async def call(
        self,
        method: str,
        params: JsonObject | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> JsonObject:
        if self.closed:
            raise ConnectionClosed(self.close_reason or "closed")
        cmd = Command(self.session.next_id(), method, {} if params is None else params)
        waiter: asyncio.Future[Success | Error] = asyncio.get_running_loop().create_future()
        self._waiters[cmd.id] = waiter
        try:
            self._send(cmd)
            async with asyncio.timeout(self.call_timeout if timeout is None else timeout):
                resp = await waiter
        except TimeoutError:
            self.session.abandon(cmd.id)
            raise CallTimeout(f"{method}: no response from {self.peer} in time") from None
        finally:
            self._waiters.pop(cmd.id, None)
        if isinstance(resp, Error):
            raise CommandFailed(resp.error)
        return resp.result

    def notify(self, method: str, params: JsonObject | None = None) -> None:
        """Send a command whose response nobody waits for (log records, keepalive pings)."""
        if self.closed:
            raise ConnectionClosed(self.close_reason or "closed")
        cmd = Command(self.session.next_id(), method, {} if params is None else params)
        self._waiters[cmd.id] = None
        self._send(cmd)

    def _send(self, msg: Message) -> None:
        if self.closed:
            raise ConnectionClosed(self.close_reason or "closed")
        transport = self._writer.transport
        if transport.is_closing():
            # The peer vanished while answers to what it sent were still being made: drop them (asyncio
            # would log a warning for every write) and fail whatever waits on this link.
            self._shutdown("connection lost")
            return
        self._writer.write(self.session.send(msg))
        if transport.get_write_buffer_size() > self._max_write_buffer:
            self._shutdown(f"peer is not reading (over {self._max_write_buffer} bytes unsent)", abort=True)

    async def close(self, fatal: str | None = None) -> None:
        self.close_soon(fatal)

    def close_soon(self, fatal: str | None = None) -> None:
        """Like `close`, from synchronous code: `run()` finishes the closing."""
        self._shutdown("closed locally" if fatal is None else f"closed locally: {fatal}", fatal=fatal)

    def _shutdown(self, reason: str, *, fatal: str | None = None, abort: bool = False) -> None:
        """Idempotent: record why, tell the peer if there is something to tell, fail pending calls."""
        if self.closed:
            return
        self.close_reason = reason
        log.debug("connection to %s closing: %s", self.peer, reason)
        self._abort = abort
        if fatal is not None and not abort:
            # Suppressed: a fatal error was already exchanged, or the transport is already gone.
            with contextlib.suppress(LocalProtocolError, OSError, RuntimeError):
                self._writer.write(self.session.send(Fatal(fatal)))
                self._sent_fatal = True
        if abort:
            self._writer.transport.abort()  # at once: this peer must not cost us more memory
        elif self._tg is None:
            self._writer.close()  # run() never started, so nobody else will close it
        for waiter in self._waiters.values():
            if waiter is not None and not waiter.done():
                waiter.set_exception(ConnectionClosed(reason))
        self._waiters.clear()
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._reading is not None and self._reading is not asyncio.current_task():
            self._reading.cancel()
