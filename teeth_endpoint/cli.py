"""`teeth-endpoint serve`: run the reference endpoint until SIGINT/SIGTERM.

    teeth-endpoint serve --listen tcp://127.0.0.1:9999 [--listen unix:///run/teeth/agents.sock]
                         [--token-file F] [--tls-cert C --tls-key K --tls-ca CA] [--control PATH]
                         [--state-dir DIR | --store postgresql://...] [--api http://HOST:PORT]
                         [--api-token-file F] [--instance-id NAME]

With --state-dir (SQLite there) or --store (a shared PostgreSQL), the endpoint keeps durable records and
becomes a control plane: agents, tasks and their statuses, erase certificates, logs, credentials; --api
serves them over HTTP (see teeth_endpoint/http_api/app.py). Without either it keeps everything in memory.

Agents' log records are printed to stderr unless --quiet. `teeth-ctl` reaches the endpoint through the
control socket (default: $TEETH_CONTROL, else $XDG_RUNTIME_DIR/teeth-endpoint.sock, else
/run/teeth-endpoint.sock for root, else /tmp/teeth-endpoint-UID.sock).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

from teeth_endpoint.api import Endpoint
from teeth_endpoint.control import ControlServer, default_control_path
from teeth_endpoint.credentials import Credentials
from teeth_endpoint.display import format_log
from teeth_endpoint.gcpolicy import GcPolicy
from teeth_endpoint.http_api.app import ApiServer
from teeth_endpoint.http_api.auth import ApiAuth
from teeth_endpoint.plane import ControlPlane
from teeth_endpoint.server import server_tls_context
from teeth_endpoint.store import Store, StoreError, open_store
from teeth_endpoint.store.errors import redact

log = logging.getLogger("teeth_endpoint")


def read_token(path: str) -> str:
    """The shared token: the file's content without surrounding whitespace; it must not be empty."""
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"token file {path} is empty")
    return token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teeth-endpoint", description="The teeth-agent reference endpoint.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="accept agents and serve teeth-ctl")
    serve.add_argument("--listen", action="append", required=True, metavar="URL",
                       help="tcp://HOST:PORT, tls://HOST:PORT or unix:///PATH (repeatable)")
    serve.add_argument("--token-file", help="require this shared token in every handshake")
    serve.add_argument("--tls-cert", help="the endpoint's certificate (for tls://)")
    serve.add_argument("--tls-key", help="its private key")
    serve.add_argument("--tls-ca", help="CA that signs agents' client certificates (mutual TLS)")
    serve.add_argument("--control", default=None, help="control socket path for teeth-ctl")
    serve.add_argument("--heartbeat-interval", type=float, default=20.0, help="idle seconds before a ping")
    serve.add_argument("--state-dir", help="keep durable records in SQLite in this directory")
    serve.add_argument("--store", metavar="URL", help="postgresql://... shared by several instances")
    serve.add_argument("--api", metavar="URL", help="serve the HTTP API at http://HOST:PORT")
    serve.add_argument("--api-token-file", help="the API requires Authorization: Bearer <this token>")
    serve.add_argument("--instance-id", help="this instance's name in a shared store (default: random)")
    serve.add_argument("--log-retention", type=int, default=100_000, help="agents' log records kept")
    serve.add_argument("--quiet", action="store_true", help="do not print agents' log records")
    serve.add_argument("--verbose", action="store_true", help="debug logging of the endpoint itself")
    return parser  # fmt: skip


def tls_from_args(args: argparse.Namespace) -> ssl.SSLContext | None:
    given = [args.tls_cert, args.tls_key, args.tls_ca]
    if not any(given):
        return None
    if not all(given):
        raise ValueError("mutual TLS needs all of --tls-cert, --tls-key and --tls-ca")
    return server_tls_context(args.tls_cert, args.tls_key, args.tls_ca)


async def serve(args: argparse.Namespace) -> None:
    token = read_token(args.token_file) if args.token_file else None
    api_token = read_token(args.api_token_file) if args.api_token_file else None
    if args.api and not (args.state_dir or args.store):
        raise ValueError("--api needs durable records: give --state-dir DIR or --store postgresql://...")
    tls = tls_from_args(args)
    async with contextlib.AsyncExitStack() as stack:
        store = None
        if args.state_dir or args.store:
            store = await open_store(
                url=args.store, state_dir=args.state_dir, log_retention=args.log_retention
            )
            stack.push_async_callback(store.close)
            log.info("store: %s", redact(args.store) if args.store else f"SQLite in {args.state_dir}")
        await _serve(args, token, api_token, tls, store)


async def _serve(
    args: argparse.Namespace, token: str | None, api_token: str | None, tls: ssl.SSLContext | None,
    store: Store | None,
) -> None:  # fmt: skip
    control_path = args.control or default_control_path()
    gc_policy = GcPolicy()  # this process is ours: keep full GC passes short with many agents
    # With a store, credentials (the fleet token included) are checked by the control plane.
    server_token = None if store is not None else token
    async with contextlib.AsyncExitStack() as stack:
        ep = await stack.enter_async_context(
            Endpoint(token=server_token, heartbeat_interval=args.heartbeat_interval, gc_policy=gc_policy)
        )
        if store is not None:
            creds = Credentials(store, fleet_token=token)
            plane = ControlPlane(ep, store, instance_id=args.instance_id, credentials=creds)
            await plane.start()
            stack.push_async_callback(plane.close)
            log.info("instance %s", plane.instance_id)
            if args.api:
                api = ApiServer(plane, ApiAuth(store, api_token), creds)
                bound = await api.start(args.api)
                need = "bearer token required" if api_token else "no token: anyone reaching it may drive it"
                log.info("HTTP API on %s (%s)", bound, need)
                stack.push_async_callback(api.close)
        for url in args.listen:
            log.info("listening on %s", await ep.listen(url, tls))
        control = ControlServer(ep)
        await control.start(control_path)
        log.info("control socket %s; agents need %s", control_path, "the token" if token else "no token")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with asyncio.TaskGroup() as tg:
            printer = None if args.quiet else tg.create_task(_print_logs(ep))
            await stop.wait()
            if printer is not None:
                printer.cancel()
        await control.close()
        with contextlib.suppress(OSError):
            os.unlink(control_path)
    log.info("stopped")


async def _print_logs(ep: Endpoint) -> None:
    async for rec in ep.logs():
        print(format_log(rec.to_json()), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError, StoreError) as exc:
        print(f"teeth-endpoint: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
