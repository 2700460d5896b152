"""The endpoint's local control socket: `teeth-ctl` talks to a running endpoint through it.

A unix stream socket, mode 0600 (only the endpoint's user may drive the fleet). One request per
connection, as one JSON line; the answer is zero or more event lines then one final line:

    -> {"op": "agents"} | {"op": "tasks", "agent": A?} | {"op": "call", "agent": A, "method": M, "params": {}}
       {"op": "task", "agent": A, "method": M, "params": {}} | {"op": "logs", "follow": true, "backlog": 50}
    <- {"event": "progress", "status": {...}}   (task)      {"event": "log", "record": {...}}   (logs)
       {"event": "agent", "agent_id": A, "connected": false|true}   (task: the agent dropped away / is back)
    <- {"ok": true, "result": ...}  or  {"ok": false, "error": {"type": ..., "msg": ...}}

Closing the control connection stops a `logs` stream; a task started by `task` keeps running on the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from teeth_agent.connection import CallTimeout, CommandFailed, ConnectionClosed
from teeth_agent.protocol import JsonObject
from teeth_endpoint.api import AgentNotConnected, Endpoint
from teeth_endpoint.fleet import AgentView
from teeth_endpoint.hub import Feed
from teeth_endpoint.server import remove_stale_socket

log = logging.getLogger(__name__)

REQUEST_LIMIT = 2 << 20
Emit = Callable[[JsonObject], Awaitable[None]]


def default_control_path() -> str:
    """$TEETH_CONTROL; else a private runtime directory ($XDG_RUNTIME_DIR, or /run for root); else /tmp."""
    if os.environ.get("TEETH_CONTROL"):
        return os.environ["TEETH_CONTROL"]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or ("/run" if os.getuid() == 0 else "")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "teeth-endpoint.sock")
    return f"/tmp/teeth-endpoint-{os.getuid()}.sock"


class BadRequest(ValueError):
    pass


def _field(req: JsonObject, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = req.get(name, default)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise BadRequest(f"{name} must be {names}")
    return value


class ControlServer:
    def __init__(self, endpoint: Endpoint) -> None:
        self._ep = endpoint
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self, path: str) -> None:
        remove_stale_socket(path)
        # Process-wide, but only for this synchronous bind: the endpoint runs no threads.
        old_umask = os.umask(0o177)  # created 0600: no window where others could connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path, limit=REQUEST_LIMIT)
        finally:
            os.umask(old_umask)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()  # ends `logs -f` streams; their handlers see end of stream and stop
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def emit(obj: JsonObject) -> None:
            writer.write(json.dumps(obj).encode() + b"\n")
            await writer.drain()

        self._clients.add(writer)
        try:
            line = await reader.readline()
            async with asyncio.TaskGroup() as tg:
                work = tg.create_task(self._answer(line, emit))
                # The client hanging up ends whatever it asked for (a logs stream, a task watch).
                watcher = tg.create_task(_cancel_on_eof(reader, work))
                work.add_done_callback(lambda _: watcher.cancel())
        except (OSError, ValueError) as exc:  # ValueError: request over the line limit
            log.debug("control client dropped: %s", exc)
        except Exception:  # incl. ExceptionGroup: nothing a control client does may reach the event loop
            log.debug("control request ended abnormally", exc_info=True)
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _answer(self, line: bytes, emit: Emit) -> None:
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise BadRequest("the request must be a JSON object")
            result = await self._dispatch(req, emit)
        except (BadRequest, json.JSONDecodeError, UnicodeDecodeError) as exc:
            await emit({"ok": False, "error": {"type": "bad_request", "msg": str(exc)}})
        except CommandFailed as exc:
            await emit({"ok": False, "error": exc.error.to_wire()})
        except AgentNotConnected as exc:
            await emit({"ok": False, "error": {"type": "not_connected", "msg": str(exc)}})
        except (CallTimeout, TimeoutError) as exc:
            await emit({"ok": False, "error": {"type": "timeout", "msg": str(exc) or "timed out"}})
        except ConnectionClosed as exc:
            await emit({"ok": False, "error": {"type": "disconnected", "msg": exc.reason}})
        except (OSError, asyncio.CancelledError):
            raise  # the control client went away
        except Exception as exc:  # a bug here must not take the endpoint down, nor leave ctl hanging
            log.exception("control request failed")
            await emit({"ok": False, "error": {"type": "internal", "msg": f"{type(exc).__name__}: {exc}"}})
        else:
            await emit({"ok": True, "result": result})

    async def _dispatch(self, req: JsonObject, emit: Emit) -> Any:
        op = req.get("op")
        ep = self._ep
        if op == "agents":
            return [a.to_json() for a in ep.agents()]
        if op == "tasks":
            return [t.to_json() for t in ep.tasks(_field(req, "agent", (str, type(None))))]
        if op in ("call", "task"):
            agent = _field(req, "agent", str)
            method = _field(req, "method", str)
            params = _field(req, "params", dict, {})
            if op == "call":
                return await ep.call(agent, method, params, _field(req, "timeout", (int, float, type(None))))
            return await _run_task(ep, agent, method, params, emit)
        if op == "logs":
            return await _logs(ep, req, emit)
        raise BadRequest(f"unknown op {op!r} (agents, tasks, call, task, logs)")


async def _run_task(ep: Endpoint, agent: str, method: str, params: JsonObject, emit: Emit) -> JsonObject:
    """run_task, streaming progress and the agent dropping away / coming back as events, in order."""
    events: asyncio.Queue[JsonObject] = asyncio.Queue()

    def progress(status: JsonObject) -> None:
        events.put_nowait({"event": "progress", "status": status})

    async def run() -> JsonObject | BaseException:
        # Returned, not raised: an exception leaving a TaskGroup's body would come out as an ExceptionGroup.
        try:
            return await ep.run_task(agent, method, params, on_progress=progress)
        except Exception as exc:
            return exc

    with ep.server.hub.watch_agent(agent) as agents:
        async with asyncio.TaskGroup() as tg:
            pumping = tg.create_task(_pump(events, emit))
            watching = tg.create_task(_watch_agent(agents, events))
            outcome = await run()
            watching.cancel()
            pumping.cancel()
    while not events.empty():
        await emit(events.get_nowait())
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def _pump(events: asyncio.Queue[JsonObject], emit: Emit) -> None:
    with contextlib.suppress(OSError):  # the client went away; the EOF watcher ends the request
        while True:
            await emit(await events.get())


async def _watch_agent(agents: Feed[AgentView], events: asyncio.Queue[JsonObject]) -> None:
    while True:
        info = await agents.get()
        events.put_nowait({"event": "agent", "agent_id": info.agent_id, "connected": info.connected})


async def _logs(ep: Endpoint, req: JsonObject, emit: Emit) -> None:
    backlog = _field(req, "backlog", int, 50)
    agent = _field(req, "agent", (str, type(None)))
    if not _field(req, "follow", bool, False):
        for record in ep.server.hub.recent_logs(backlog):
            if agent is None or record.agent_id == agent:
                await emit({"event": "log", "record": record.to_json()})
        return
    async for record in ep.logs(backlog):
        if agent is None or record.agent_id == agent:
            await emit({"event": "log", "record": record.to_json()})


async def _cancel_on_eof(reader: asyncio.StreamReader, work: asyncio.Task[None]) -> None:
    with contextlib.suppress(OSError):
        while await reader.read(4096):
            pass
    work.cancel()
