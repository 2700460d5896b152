"""The OpenAPI 3.1 document served at /v1/openapi.json."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, *, params: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
        ok: str = "200", stream: str | None = None) -> dict[str, Any]:  # fmt: skip
    content = {stream: {"schema": {"type": "string"}}} if stream else {"application/json": {"schema": {}}}
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            ok: {"description": "success", "content": content},
            "default": {"description": "error", "content": {"application/json": {"schema": _ERROR}}},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, kind: str = "string", what: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": what}


_CALL = {
    "type": "object",
    "required": ["method"],
    "properties": {"method": {"type": "string"}, "params": {"type": "object"}, "timeout": {"type": "number"}},
}


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "object", "properties": {"type": {"type": "string"}, "msg": {"type": "string"}}}
    },
}
_CERT_SUMMARY = "Erase certificates exactly as sealed: {certificates: [...]}; format=jsonl: JSON lines"


# fmt: off
def _paths() -> dict[str, Any]:
    agent = [_path("agent_id")]
    task = [_path("task_id")]
    return {
        "/v1/agents": {"get": _op("Agents: {agents: [{agent_id, connected, ...}]}")},
        "/v1/agents/{agent_id}": {"get": _op("One agent", params=agent)},
        "/v1/agents/{agent_id}/inventory": {"get": _op("Inventory from status and decom.qc", params=agent)},
        "/v1/agents/{agent_id}/commands": {
            "post": _op("Call a command and wait: {result}", params=agent, body=_CALL)},
        "/v1/agents/{agent_id}/tasks": {
            "post": _op("Start a task: {task_id, task}", params=agent, body=_CALL, ok="202")},
        "/v1/agents/{agent_id}/enroll": {
            "post": _op("Issue a per-agent token (shown once)", params=agent, body={"type": "object"},
                        ok="201")},
        "/v1/tasks": {
            "get": _op("Tasks, newest first", params=[_query("agent_id"), _query("limit", "integer")])},
        "/v1/tasks/{task_id}": {
            "get": _op("A task: state and, once final, result or msg",
                       params=[*task, _query("wait", "number", "seconds to wait for the final status")])},
        "/v1/tasks/{task_id}/events": {
            "get": _op("Every status as Server-Sent Events", params=task, stream="text/event-stream")},
        "/v1/certificates": {
            "get": _op(_CERT_SUMMARY, params=[
                _query("agent_id"), _query("task_id"), _query("serial"), _query("wwn"),
                _query("since", "number"), _query("until", "number"), _query("after", "integer"),
                _query("limit", "integer"), _query("format", what="jsonl for JSON lines")])},
        "/v1/certificates/{cert_id}": {"get": _op("One certificate", params=[_path("cert_id")])},
        "/v1/logs": {
            "get": _op("Recent log records; follow=1 streams them as Server-Sent Events",
                       params=[_query("agent_id"), _query("backlog", "integer"), _query("follow")])},
        "/v1/openapi.json": {"get": {**_op("This document"), "security": []}},
    }
# fmt: on


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "teeth-endpoint", "version": "1"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
    }
