"""`teeth-ctl --api URL ...`: the same commands over the endpoint's HTTP API (any instance of a fleet),
plus those only the API has: `enroll` and `certificates`.

The bearer token comes from --api-token-file or $TEETH_API_TOKEN_FILE; the URL from --api or $TEETH_API.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp

from teeth_endpoint.display import ProgressBar, format_agents, format_log


class ApiFailed(Exception):
    """The API answered with an error (exit 1)."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('type', status)}: {error.get('msg', '')}")


class HttpCtl:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def _json(self, method: str, path: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession(headers=self.headers) as s, s.request(
            method, self.url + path, json=body, timeout=aiohttp.ClientTimeout(total=None)
        ) as r:
            data = await r.json(content_type=None)
            if r.status >= 400:
                raise ApiFailed(r.status, data.get("error") or {} if isinstance(data, dict) else {})
            return data

    async def _events(self, path: str) -> AsyncIterator[Any]:
        async with aiohttp.ClientSession(headers=self.headers) as s, s.get(
            self.url + path, timeout=aiohttp.ClientTimeout(total=None)
        ) as r:
            if r.status >= 400:
                raise ApiFailed(r.status, (await r.json(content_type=None)).get("error") or {})
            async for raw in r.content:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    yield json.loads(line[6:])

    async def run(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        op = args.op
        if op == "agents":
            agents = (await self._json("GET", "/v1/agents"))["agents"]
            rows = [{**a, "since": a.get("last_seen", 0)} for a in agents]
            print(format_agents(rows), file=out)
            return 0
        if op == "tasks":
            path = "/v1/tasks" + (f"?agent_id={quote(args.agent)}" if args.agent else "")
            _print(await self._json("GET", path), out)
            return 0
        if op == "call":
            body = {"method": args.method, "params": args.params_obj}
            reply = await self._json("POST", f"/v1/agents/{quote(args.agent)}/commands", body)
            _print(reply["result"], out)
            return 0
        if op == "task":
            body = {"method": args.method, "params": args.params_obj}
            started = await self._json("POST", f"/v1/agents/{quote(args.agent)}/tasks", body)
            bar = ProgressBar(err)
            async for status in self._events(f"/v1/tasks/{quote(started['task_id'])}/events"):
                if status.get("state") == "running":
                    bar.update(status)
            bar.finish()
            final = await self._json("GET", f"/v1/tasks/{quote(started['task_id'])}")
            _print(final, out)
            return 0 if final.get("state") == "complete" else 1
        if op == "enroll":
            ask: dict[str, Any] = {"replace": args.replace}
            if args.ttl is not None:
                ask["ttl"] = args.ttl
            reply = await self._json("POST", f"/v1/agents/{quote(args.agent)}/enroll", ask)
            print(reply["token"], file=out)  # shown once: the endpoint keeps only its hash
            return 0
        if op == "certificates":
            query = f"?agent_id={quote(args.agent)}" if args.agent else ""
            for cert in (await self._json("GET", "/v1/certificates" + query))["certificates"]:
                print(json.dumps(cert, sort_keys=True), file=out)
            return 0
        if op == "logs":
            query = f"?backlog={args.lines}" + (f"&agent_id={quote(args.agent)}" if args.agent else "")
            if args.follow:
                async for record in self._events("/v1/logs" + query + "&follow=1"):
                    print(format_log(record), file=out, flush=True)
            else:
                for record in (await self._json("GET", "/v1/logs" + query))["logs"]:
                    print(format_log(record), file=out)
            return 0
        raise ValueError(f"unknown command {op}")


def _print(value: Any, out: TextIO) -> None:
    print(json.dumps(value, indent=2, sort_keys=True), file=out)
