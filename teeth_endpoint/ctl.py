"""`teeth-ctl`: drive a running `teeth-endpoint` through its control socket.

    teeth-ctl agents                                list agents (connected or seen)
    teeth-ctl tasks [--agent A]                     tasks the endpoint knows of
    teeth-ctl call AGENT METHOD ['{"json": 1}']     one command; prints its result
    teeth-ctl task AGENT METHOD ['{"json": 1}']     start a task, show a progress bar, print the final status
    teeth-ctl logs [-f] [-n 50] [--agent A]         agents' log records (follow with -f)
    teeth-ctl --api URL enroll AGENT [--ttl S]      issue a per-agent token (printed once)
    teeth-ctl --api URL certificates [--agent A]    erase certificates, one JSON per line

With --api http://HOST:PORT (or $TEETH_API) every command goes through the HTTP API of a control-plane
endpoint (any instance), with the bearer token of --api-token-file (or $TEETH_API_TOKEN_FILE); without it,
through the local control socket.

Exit status: 0 success, 1 the command or task failed, 2 usage or connection error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TextIO

from teeth_endpoint.control import default_control_path
from teeth_endpoint.display import ProgressBar, format_agents, format_log


class CtlError(Exception):
    """Usage or connection problem (exit 2)."""


def parse_json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CtlError(f"params are not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise CtlError("params must be a JSON object, e.g. '{\"task_id\": \"t1\"}'")
    return value


async def request(path: str, req: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Send one request; yield every line of the answer (events, then the final one)."""
    try:
        reader, writer = await asyncio.open_unix_connection(path, limit=16 << 20)
    except OSError as exc:
        raise CtlError(f"cannot reach the endpoint at {path}: {exc.strerror or exc}") from None
    try:
        writer.write(json.dumps(req).encode() + b"\n")
        await writer.drain()
        while line := await reader.readline():
            yield json.loads(line)
    finally:
        writer.close()


def _print_json(value: Any, out: TextIO) -> None:
    print(json.dumps(value, indent=2, sort_keys=True), file=out)


async def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    req: dict[str, Any] = {"op": args.op}
    if args.op in ("call", "task"):
        req.update(agent=args.agent, method=args.method, params=parse_json_object(args.params))
    elif args.op == "tasks":
        req["agent"] = args.agent
    elif args.op == "logs":
        req.update(follow=args.follow, backlog=args.lines, agent=args.agent)
    bar = ProgressBar(err) if args.op == "task" else None
    async for msg in request(args.control, req):
        if msg.get("event") == "progress" and bar is not None:
            bar.update(msg["status"])
        elif msg.get("event") == "agent" and bar is not None:
            bar.note(agent_note(msg))
        elif msg.get("event") == "log":
            print(format_log(msg["record"]), file=out, flush=True)
        elif "ok" in msg:
            if bar is not None:
                bar.finish()
            return _final(args.op, msg, out, err)
    raise CtlError("the endpoint closed the control connection without an answer")


def agent_note(msg: dict[str, Any]) -> str:
    if msg.get("connected"):
        return f"agent {msg.get('agent_id')} connected again"
    return f"agent {msg.get('agent_id')} disconnected; its task goes on, waiting for it to come back"


def _final(op: str, msg: dict[str, Any], out: TextIO, err: TextIO) -> int:
    if not msg["ok"]:
        error = msg.get("error") or {}
        print(f"error: {error.get('type', '?')}: {error.get('msg', '')}", file=err)
        return 1
    result = msg.get("result")
    if op == "agents":
        print(format_agents(result or []), file=out)
    elif op != "logs":
        _print_json(result, out)
    if op == "task" and isinstance(result, dict) and result.get("state") != "complete":
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teeth-ctl", description="Drive a running teeth-endpoint.")
    parser.add_argument("--control", default=None, help="control socket (default: as teeth-endpoint)")
    parser.add_argument("--api", default=os.environ.get("TEETH_API"), help="the endpoint's HTTP API URL")
    parser.add_argument("--api-token-file", default=os.environ.get("TEETH_API_TOKEN_FILE"),
                        help="file holding the API's bearer token")
    sub = parser.add_subparsers(dest="op", required=True)
    sub.add_parser("agents", help="list agents")
    tasks = sub.add_parser("tasks", help="list known tasks")
    tasks.add_argument("--agent")
    for name, what in (("call", "send one command"), ("task", "run a task with a progress bar")):
        p = sub.add_parser(name, help=what)
        p.add_argument("agent")
        p.add_argument("method")
        p.add_argument("params", nargs="?", default="{}", help="JSON object (default {})")
    logs = sub.add_parser("logs", help="agents' log records")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--lines", type=int, default=50, help="recent records first (default 50)")
    logs.add_argument("--agent")
    enroll = sub.add_parser("enroll", help="issue a per-agent token (needs --api)")
    enroll.add_argument("agent")
    enroll.add_argument("--ttl", type=float, help="seconds the token stays valid (default: no expiry)")
    enroll.add_argument("--replace", action="store_true", help="revoke the agent's earlier tokens")
    certs = sub.add_parser("certificates", help="erase certificates as JSON lines (needs --api)")
    certs.add_argument("--agent")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.control = args.control or default_control_path()
    try:
        if args.api:
            return _run_http(args)
        if args.op in ("enroll", "certificates"):
            raise CtlError(f"{args.op} needs the HTTP API: give --api URL or set $TEETH_API")
        return asyncio.run(run(args, sys.stdout, sys.stderr))
    except CtlError as exc:
        print(f"teeth-ctl: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_http(args: argparse.Namespace) -> int:
    from teeth_endpoint.ctl_http import ApiFailed, HttpCtl  # aiohttp only when asked for

    token = Path(args.api_token_file).read_text().strip() if args.api_token_file else None
    if args.op in ("call", "task"):
        args.params_obj = parse_json_object(args.params)
    try:
        return asyncio.run(HttpCtl(args.api, token).run(args, sys.stdout, sys.stderr))
    except ApiFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        raise CtlError(f"cannot reach the API at {args.api}: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
