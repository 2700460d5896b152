"""The HTTP API: JSON over HTTP/1.1 for provisioning systems (scripts, conductors, Terraform providers).

Built on aiohttp rather than starlette+uvicorn: the endpoint is one asyncio process already, and aiohttp
is a server that runs inside that loop (`AppRunner` + `TCPSite`) with no ASGI server to embed or manage,
streams responses (Server-Sent Events, JSON lines) natively, bounds request bodies itself
(`client_max_size`), and is one well-kept dependency with few of its own. uvicorn wants to own the loop
and its signals, which the endpoint's `serve` already does.

Every route but the OpenAPI document needs `Authorization: Bearer TOKEN` when the endpoint was given
`--api-token-file`. Errors are `{"error": {"type": ..., "msg": ...}}` with a matching status code.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from teeth_agent.connection import CallTimeout, CommandFailed, ConnectionClosed
from teeth_endpoint.api import AgentNotConnected
from teeth_endpoint.credentials import Credentials
from teeth_endpoint.http_api.auth import ApiAuth
from teeth_endpoint.http_api.openapi import document
from teeth_endpoint.plane import ControlPlane
from teeth_endpoint.store import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
MAX_WAIT = 3600.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PLANE: web.AppKey[ControlPlane] = web.AppKey("plane", ControlPlane)
AUTH: web.AppKey[ApiAuth] = web.AppKey("auth", ApiAuth)
CREDS: web.AppKey[Credentials] = web.AppKey("credentials", Credentials)


class ApiError(Exception):
    def __init__(self, status: int, kind: str, msg: str) -> None:
        super().__init__(msg)
        self.status, self.kind, self.msg = status, kind, msg


def _error(status: int, kind: str, msg: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "msg": msg}}, status=status)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.status, exc.kind, exc.msg)
    except AgentNotConnected as exc:
        return _error(409, "not_connected", str(exc))
    except CommandFailed as exc:
        return web.json_response({"error": exc.error.to_wire()}, status=422)
    except (CallTimeout, TimeoutError) as exc:
        return _error(504, "timeout", str(exc) or "timed out")
    except ConnectionClosed as exc:
        return _error(502, "disconnected", exc.reason)
    except StoreUnavailable as exc:
        return _error(503, "store_unavailable", str(exc))
    except StoreError as exc:
        return _error(409, "conflict", str(exc))
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "too_large", f"request bodies are limited to {MAX_BODY} bytes")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _error(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason)
        raise


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/v1/openapi.json":
        return await handler(request)
    who = await request.app[AUTH].check(request.headers.get("Authorization"))
    if who is None:
        raise ApiError(401, "unauthorized", "missing, unknown or expired bearer token")
    request["who"] = who
    return await handler(request)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too_large", f"request bodies are limited to {MAX_BODY} bytes")
    raw = await request.read()
    try:
        value = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_request", f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return value


def _str_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if type(value) is not str or not value or len(value) > 256:
        raise ApiError(400, "bad_request", f"{name} must be a non-empty string of at most 256 characters")
    return value


def _params(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise ApiError(400, "bad_request", "params must be a JSON object")
    return params


def _number(request: web.Request, name: str, default: float | None = None) -> float | None:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be a number") from None
    if value != value or value < 0:
        raise ApiError(400, "bad_request", f"{name} must be a non-negative number")
    return value


# -- routes ---------------------------------------------------------------------------------------------


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(document())


async def list_agents(request: web.Request) -> web.Response:
    plane = request.app[PLANE]
    agents = await plane.store.agents(now=plane.now())
    return web.json_response({"agents": [a.to_json() for a in agents]})


async def get_agent(request: web.Request) -> web.Response:
    plane = request.app[PLANE]
    agent = await plane.store.agent(request.match_info["agent_id"], now=plane.now())
    if agent is None:
        raise ApiError(404, "not_found", f"no agent {request.match_info['agent_id']!r}")
    return web.json_response(agent.to_json())


async def get_inventory(request: web.Request) -> web.Response:
    agent_id = request.match_info["agent_id"]
    inventory = await request.app[PLANE].store.inventory(agent_id)
    return web.json_response({"agent_id": agent_id, "inventory": inventory})


async def call_command(request: web.Request) -> web.Response:
    body = await _body(request)
    timeout = body.get("timeout")
    if timeout is not None and (type(timeout) not in (int, float) or not 0 < timeout <= MAX_WAIT):
        raise ApiError(400, "bad_request", f"timeout must be a number of seconds in (0, {MAX_WAIT:g}]")
    result = await request.app[PLANE].call(
        request.match_info["agent_id"], _str_field(body, "method"), _params(body), timeout
    )
    return web.json_response({"result": result})


async def start_task(request: web.Request) -> web.Response:
    body = await _body(request)
    try:
        task = await request.app[PLANE].start_task(
            request.match_info["agent_id"], _str_field(body, "method"), _params(body),
            started_by=str(request.get("who", "api")),
        )  # fmt: skip
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return web.json_response({"task_id": task.task_id, "task": task.to_json()}, status=202)


async def list_tasks(request: web.Request) -> web.Response:
    limit = int(_number(request, "limit", 1000) or 1000)
    tasks = await request.app[PLANE].store.tasks(request.query.get("agent_id"), limit=min(limit, 10_000))
    return web.json_response({"tasks": [t.to_json() for t in tasks]})


async def get_task(request: web.Request) -> web.Response:
    plane = request.app[PLANE]
    task_id = request.match_info["task_id"]
    wait = min(_number(request, "wait", 0.0) or 0.0, MAX_WAIT)
    task = await plane.wait_task(task_id, wait) if wait > 0 else await plane.task(task_id)
    if task is None:
        raise ApiError(404, "not_found", f"no task {task_id!r}")
    return web.json_response(task.to_json())


async def task_events(request: web.Request) -> web.StreamResponse:
    """Every status of the task as a Server-Sent Event (`event: status`), the final one last."""
    plane = request.app[PLANE]
    task_id = request.match_info["task_id"]
    if await plane.task(task_id) is None:
        raise ApiError(404, "not_found", f"no task {task_id!r}")
    response = await _sse(request)
    async for status in plane.follow_task(task_id):
        await _sse_send(response, "status", status, status.get("seq"))
    await _sse_send(response, "end", {"task_id": task_id})
    return response


async def list_certificates(request: web.Request) -> web.StreamResponse:
    q = request.query
    limit = int(_number(request, "limit", 10_000) or 10_000)
    found = await request.app[PLANE].store.certificates(
        agent_id=q.get("agent_id"), task_id=q.get("task_id"), serial=q.get("serial"), wwn=q.get("wwn"),
        since=_number(request, "since"), until=_number(request, "until"),
        after=int(_number(request, "after", 0) or 0), limit=min(limit, 100_000),
    )  # fmt: skip
    if q.get("format") == "jsonl" or "application/x-ndjson" in request.headers.get("Accept", ""):
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        response.headers["Content-Disposition"] = 'attachment; filename="certificates.jsonl"'
        await response.prepare(request)
        for _, cert in found:
            await response.write(json.dumps(cert).encode() + b"\n")
        await response.write_eof()
        return response
    return web.json_response({"certificates": [c for _, c in found], "ids": [i for i, _ in found]})


async def get_certificate(request: web.Request) -> web.Response:
    try:
        cert_id = int(request.match_info["cert_id"])
    except ValueError:
        raise ApiError(400, "bad_request", "certificate ids are integers") from None
    cert = await request.app[PLANE].store.certificate(cert_id)
    if cert is None:
        raise ApiError(404, "not_found", f"no certificate {cert_id}")
    return web.json_response(cert)


async def logs(request: web.Request) -> web.StreamResponse:
    """Recent log records as JSON; with `follow=1`, recent then live ones as Server-Sent Events."""
    plane = request.app[PLANE]
    agent_id = request.query.get("agent_id")
    backlog = int(_number(request, "backlog", 50) or 0)
    if request.query.get("follow") not in ("1", "true", "yes"):
        last = await plane.store.last_log_id()
        rows = await plane.store.logs(after=max(last - backlog, 0), agent_id=agent_id, limit=max(backlog, 1))
        return web.json_response({"logs": [r.to_json() for _, r in rows]})
    response = await _sse(request)
    async for record in plane.follow_logs(agent_id=agent_id, backlog=backlog):
        await _sse_send(response, "log", record.to_json())
    return response


async def enroll(request: web.Request) -> web.Response:
    """A new per-agent token (shown once; only its hash is kept). Old tokens of the agent stay valid
    unless `{"replace": true}`."""
    body = await _body(request)
    agent_id = request.match_info["agent_id"]
    if not agent_id or len(agent_id) > 256:
        raise ApiError(400, "bad_request", "agent ids are 1 to 256 characters")
    ttl = body.get("ttl")
    if ttl is not None and (type(ttl) not in (int, float) or ttl <= 0):
        raise ApiError(400, "bad_request", "ttl must be a positive number of seconds")
    token = await request.app[CREDS].enroll(agent_id, ttl=ttl, replace=body.get("replace") is True)
    return web.json_response({"agent_id": agent_id, "token": token}, status=201)


# -- SSE ------------------------------------------------------------------------------------------------


async def _sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    return response


async def _sse_send(response: web.StreamResponse, event: str, data: Any, event_id: Any = None) -> None:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data)}")
    await response.write(("\n".join(lines) + "\n\n").encode())


# -- the application ------------------------------------------------------------------------------------


def make_app(plane: ControlPlane, auth: ApiAuth, credentials: Credentials) -> web.Application:
    app = web.Application(middlewares=[_errors, _auth], client_max_size=MAX_BODY)
    app[PLANE] = plane
    app[AUTH] = auth
    app[CREDS] = credentials
    app.router.add_get("/v1/openapi.json", openapi)
    app.router.add_get("/v1/agents", list_agents)
    app.router.add_get("/v1/agents/{agent_id}", get_agent)
    app.router.add_get("/v1/agents/{agent_id}/inventory", get_inventory)
    app.router.add_post("/v1/agents/{agent_id}/commands", call_command)
    app.router.add_post("/v1/agents/{agent_id}/tasks", start_task)
    app.router.add_post("/v1/agents/{agent_id}/enroll", enroll)
    app.router.add_get("/v1/tasks", list_tasks)
    app.router.add_get("/v1/tasks/{task_id}", get_task)
    app.router.add_get("/v1/tasks/{task_id}/events", task_events)
    app.router.add_get("/v1/certificates", list_certificates)
    app.router.add_get("/v1/certificates/{cert_id}", get_certificate)
    app.router.add_get("/v1/logs", logs)
    return app


class ApiServer:
    """The API on `http://HOST:PORT` inside the endpoint's loop."""

    def __init__(self, plane: ControlPlane, auth: ApiAuth, credentials: Credentials) -> None:
        self._runner = web.AppRunner(make_app(plane, auth, credentials), access_log=None,
                                     handle_signals=False, shutdown_timeout=1.0)  # fmt: skip
        self.url = ""

    async def start(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None:
            raise ValueError(f"--api {url}: expected http://HOST:PORT")
        await self._runner.setup()
        site = web.TCPSite(self._runner, parts.hostname, parts.port, reuse_address=True)
        await site.start()
        server = site._server
        port = parts.port
        if isinstance(server, asyncio.base_events.Server) and server.sockets:
            port = server.sockets[0].getsockname()[1]
        self.url = f"http://{parts.hostname}:{port}"
        return self.url

    async def close(self) -> None:
        await self._runner.cleanup()
