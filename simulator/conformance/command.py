"""`teeth-sim conformance --endpoint URL`: check an endpoint implementation against the protocol.

    teeth-sim conformance --endpoint tcp://127.0.0.1:9999 [--token-file F] [--timeout S] [--ping-wait S]
                          [--only NAME] [--json]

Every check runs concurrently on its own links with its own agent id; the slowest waits for the
endpoint's keepalive ping (1.5 heartbeat intervals as its handshake states, + 5 s; `--ping-wait`).
Prints a pass/fail table; exits 0 when every check passed, 1 when any failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from simulator.conformance.checks import CHECKS, Check, Ctx
from simulator.conformance.link import CheckFailed


def add_conformance_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("conformance", help="check an endpoint implementation against the protocol")
    c.add_argument("--endpoint", required=True, metavar="URL")
    c.add_argument("--token-file", type=Path, help="the shared token the endpoint requires")
    c.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for any one answer")
    c.add_argument("--ping-wait", type=float, help="seconds to wait for the endpoint's ping")
    c.add_argument("--only", action="append", help="run only checks whose name contains this")
    c.add_argument("--json", action="store_true", help="print the results as JSON")


async def _one(name: str, check: Check, ctx: Ctx) -> tuple[str, bool, str]:
    try:
        return name, True, await check(ctx)
    except CheckFailed as exc:
        return name, False, str(exc)
    except (OSError, TimeoutError) as exc:
        return name, False, f"could not talk to the endpoint: {type(exc).__name__}: {exc}"


async def run_checks(ctx: Ctx, only: list[str] | None = None) -> list[tuple[str, bool, str]]:
    chosen = [(n, c) for n, c in CHECKS if not only or any(o in n for o in only)]
    return list(await asyncio.gather(*(_one(n, c, ctx) for n, c in chosen)))


def conformance_main(args: argparse.Namespace) -> int:
    token = None
    if args.token_file:
        token = args.token_file.read_text(encoding="utf-8").strip()
    try:
        from teeth_agent.dial import parse_endpoint

        parse_endpoint(args.endpoint)
    except ValueError as exc:
        print(f"teeth-sim: error: --endpoint: {exc}", file=sys.stderr)
        return 2
    ctx = Ctx(args.endpoint, timeout=args.timeout, token=token, ping_wait=args.ping_wait)
    results = asyncio.run(run_checks(ctx, args.only))
    if not results:
        print("teeth-sim: error: --only matched no check", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"check": n, "passed": ok, "detail": d} for n, ok, d in results], indent=2))
    else:
        width = max(len(n) for n, _, _ in results)
        for name, ok, detail in results:
            print(f"{'PASS' if ok else 'FAIL'}  {name:{width}}  {detail}")
    failed = [n for n, ok, _ in results if not ok]
    print(f"{len(results) - len(failed)}/{len(results)} checks passed"
          + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
