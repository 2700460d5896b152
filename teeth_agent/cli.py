"""`teeth-agent`: the agent's command line.

Options come from flags first, then from the kernel command line (`teeth.endpoint=URL`, `teeth.agent_id=`,
`teeth.log_level=`, `teeth.state_dir=`, `teeth.backend=`, `teeth.profile=`, `teeth.only_devices=`), read from
/proc/cmdline or --cmdline-file. Bad input exits with status 2 and a message naming what is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from teeth_agent.agent import Agent, AgentConfig
from teeth_agent.atomic_write import private_dir
from teeth_agent.backend.api import Backend
from teeth_agent.cmdline import CmdlineError, KernelOptions, parse_cmdline, split_list
from teeth_agent.dial import client_tls_context, parse_endpoint
from teeth_agent.logforward import LogForwarder
from teeth_agent.tasks.spec import CommandSet

MakeCommands = Callable[[AgentConfig], CommandSet]
# Backends outside the agent's package (the simulator) register a factory under this entry-point group, so
# the agent never imports the packages that build on it.
BACKEND_ENTRY_POINTS = "teeth_agent.backends"

PROC_CMDLINE = Path("/proc/cmdline")
DEFAULT_STATE_DIR = "/var/lib/teeth-agent"
LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """Bad command line or configuration; the message names what is wrong."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="teeth-agent", description="Bare-metal provisioning agent.")
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="tcp://H:P, tls://H:P, unix:///PATH or a /dev character device; repeat for failover",
    )
    p.add_argument("--cmdline-file", type=Path, help=f"kernel command line to read (default {PROC_CMDLINE})")
    p.add_argument("--ca-file", help="CA bundle that signed the endpoint's certificate (tls://)")
    p.add_argument("--cert", help="client certificate for mutual TLS")
    p.add_argument("--key", help="private key of --cert (when not in the same file)")
    p.add_argument("--token-file", type=Path, help="shared token sent in the handshake")
    p.add_argument("--state-dir", type=Path, help=f"persistent state (default {DEFAULT_STATE_DIR})")
    p.add_argument("--agent-id", help="default: the chassis serial, else the first MAC")
    p.add_argument("--backend", choices=("linux", "sim", "null"), help="default: linux")
    p.add_argument("--profile", help="simulated machine profile for --backend sim")
    p.add_argument(
        "--only-devices",
        action="append",
        default=[],
        metavar="DEV[,DEV]",
        help="restrict the linux backend to these devices",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import extra COMMANDS/TASKS from this module",
    )
    p.add_argument("--heartbeat-interval", type=float, default=20.0, help="idle seconds before a ping")
    p.add_argument("--log-level", choices=LOG_LEVELS, help="default: info")
    return p  # fmt: skip


def read_kernel_options(path: Path | None) -> KernelOptions:
    source = path or PROC_CMDLINE
    try:
        text = source.read_text()
    except OSError as exc:
        if path is None:
            return KernelOptions()  # no /proc (not Linux, or a sandbox): flags only
        raise UsageError(f"--cmdline-file {path}: {exc.strerror or exc}") from None
    try:
        return parse_cmdline(text)
    except CmdlineError as exc:
        raise UsageError(f"{source}: {exc}") from None


def make_config(args: argparse.Namespace, kernel: KernelOptions) -> AgentConfig:
    urls = args.endpoint or list(kernel.endpoints)
    if not urls:
        raise UsageError("no endpoint: give --endpoint URL or teeth.endpoint=URL on the kernel command line")
    try:
        endpoints = tuple(parse_endpoint(u) for url in urls for u in split_list(url))
        tls = None
        if any(ep.scheme == "tls" for ep in endpoints) or args.cert:
            tls = client_tls_context(args.ca_file, args.cert, args.key)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.heartbeat_interval <= 0:
        raise UsageError("--heartbeat-interval must be > 0")
    return AgentConfig(
        endpoints=endpoints,
        state_dir=args.state_dir or Path(kernel.get("state_dir") or DEFAULT_STATE_DIR),
        agent_id=args.agent_id or kernel.get("agent_id"),
        token=_token(args, kernel),
        tls=tls,
        plugins=tuple(args.plugin),
        heartbeat_interval=args.heartbeat_interval,
    )


def _token(args: argparse.Namespace, kernel: KernelOptions) -> str | None:
    """--token-file, else `teeth.token_file=` (a file the ramdisk put in place: from a config drive, or
    copied from the virtual-media ISO by teeth-agent-netconfig), else `teeth.token=`: a per-agent token
    from enrollment or the shared fleet one. Never logged."""
    if args.token_file is not None:
        return _read_token(args.token_file, "--token-file")
    if kernel.get("token_file"):
        return _read_token(Path(str(kernel.get("token_file"))), "teeth.token_file=")
    return kernel.get("token") or None


def _read_token(path: Path, origin: str) -> str | None:
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise UsageError(f"{origin} {path}: {exc.strerror or exc}") from None
    if not token:
        raise UsageError(f"{origin} {path} is empty")
    return token


def make_backend(args: argparse.Namespace, kernel: KernelOptions) -> Backend:
    kind = args.backend or kernel.get("backend") or "linux"
    if kind == "null":
        from teeth_agent.backend.null import NullBackend

        return NullBackend()
    if kind == "sim":
        profile = args.profile or kernel.get("profile")
        if not profile:
            raise UsageError("--backend sim needs --profile NAME (or run `teeth-sim agent`)")
        make_sim = _backend_factory("sim")
        try:
            return make_sim(profile)
        except (ValueError, OSError) as exc:
            raise UsageError(f"--profile {profile}: {exc}") from None
    if kind != "linux":
        raise UsageError(f"backend must be linux, sim or null; got {kind!r}")
    from teeth_agent.backend.linux.factory import make_linux_backend

    only = [d for item in (args.only_devices or [kernel.get("only_devices") or ""]) for d in split_list(item)]
    return make_linux_backend(only_devices=only or None)


def _backend_factory(kind: str) -> Callable[[str], Backend]:
    found = metadata.entry_points(group=BACKEND_ENTRY_POINTS, name=kind)
    if not found:
        hint = " (for sim: pip install 'teeth-agent[sim]')" if kind == "sim" else ""
        raise UsageError(f"--backend {kind}: no such backend is installed{hint}")
    try:
        factory: Callable[[str], Backend] = next(iter(found)).load()
    except ImportError as exc:
        raise UsageError(f"--backend {kind}: the backend is not installed ({exc})") from None
    return factory


def setup_logging(level_name: str) -> LogForwarder:
    level = getattr(logging, level_name.upper())
    root = logging.getLogger()
    root.setLevel(level)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    forwarder = LogForwarder(level=max(level, logging.INFO))
    root.addHandler(forwarder)
    return forwarder


async def run(agent: Agent) -> None:
    """Run until SIGTERM/SIGINT; tasks cut short are reported as interrupted after the next start."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, main.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await agent.run()


def main(argv: Sequence[str] | None, make_commands: MakeCommands) -> int:
    """Parse, configure and run one agent; the command layer comes from the caller (the entry point)."""
    args = build_parser().parse_args(argv)
    try:
        kernel = read_kernel_options(args.cmdline_file)
        config = make_config(args, kernel)
        backend = make_backend(args, kernel)
        level = args.log_level or kernel.get("log_level") or "info"
        if level not in LOG_LEVELS:
            raise UsageError(f"log level must be one of {', '.join(LOG_LEVELS)}; got {level!r}")
        try:
            private_dir(config.state_dir)
        except OSError as exc:
            raise UsageError(f"state dir {config.state_dir}: {exc.strerror or exc}") from None
    except UsageError as exc:
        print(f"teeth-agent: error: {exc}", file=sys.stderr)
        return 2
    forwarder = setup_logging(level)
    asyncio.run(run(Agent(config, backend, logs=forwarder, commands=make_commands(config))))
    return 0
