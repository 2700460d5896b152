"""teeth-testbed: boot testbed VMs and run end-to-end scenarios.

  teeth-testbed up [-n N]        build what is missing, boot N ramdisk VMs, leave them running
  teeth-testbed run SCENARIO     boot, observe and clean up one scenario (see `run --help`)
  teeth-testbed status           list the VMs `up` left running and their console logs
  teeth-testbed shell VM [CMD]   a root shell in a VM `up` started (CMD once, else line by line)
  teeth-testbed down             destroy them and delete their disks
  teeth-testbed build-ramdisk    build (or reuse) the DIB ramdisk (python -m testbed.ramdisk)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from testbed import scenarios
from testbed.agent_vm import AgentWaitError
from testbed.console import ConsoleWaitError
from testbed.guest_shell import GuestShell, GuestShellError
from testbed.harness import Layout
from testbed.hypervisor import SYSTEM_URI, HypervisorError
from testbed.ramdisk import RamdiskConfig, RamdiskError, build_ramdisk
from testbed.services import LineWaitError
from testbed.session import DEFAULT_CACHE, Session, open_session
from testbed.spec import SpecError
from testbed.tenant_image import TenantImageError
from testbed.tools import ToolError

DEFAULT_ROOT = Path("/tmp/teeth-testbed")  # short: unix socket paths inside it are limited to 107 bytes
FAILURES = (HypervisorError, ToolError, TenantImageError, ConsoleWaitError, LineWaitError, SpecError,
            RamdiskError, AgentWaitError, GuestShellError, FileNotFoundError)


class Progress:
    """One line per step with the time since the command started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {message}", flush=True)


def _ramdisk(cache_repo: Path, say: Progress) -> tuple[Path, Path]:
    say("ramdisk: building if its inputs changed (minutes when they did)")
    built = build_ramdisk(RamdiskConfig.from_env(cache_repo, os.environ))
    say(f"ramdisk {'reused' if built.reused else 'built'}: {built.kernel.parent}")
    return built.kernel, built.initramfs


def cmd_up(args: argparse.Namespace, say: Progress) -> int:
    kernel, initramfs = _ramdisk(args.repo, say)
    with open_session(args.cache, uri=args.uri, run_root=args.root, destroy_on_close=False) as session:
        say(f"tenant image ready; accelerator: {session.accel.domain_type.value} ({session.accel.reason})")
        for i in range(args.n):
            spec = scenarios.ramdisk_spec(f"teeth-vm{i}", kernel, initramfs, args.endpoint_port,
                                          args.image_port)
            vm = session.testbed.launch(spec)
            say(f"{spec.name} started: console {vm.console.path}, channel {vm.host.channel_socket}")
        say(f"agents dial 10.0.2.100:9999 -> 127.0.0.1:{args.endpoint_port}; `teeth-testbed down` stops them")
    return 0


def cmd_status(args: argparse.Namespace, say: Progress) -> int:
    with open_session(args.cache, uri=args.uri, run_root=args.root, destroy_on_close=False) as session:
        names = session.testbed.hv.domain_names()
        for name in names:
            say(f"{name}: running, console {session.testbed.layout.console_log(name)}")
        if not names:
            say("no testbed VMs are running")
    return 0


def cmd_down(args: argparse.Namespace, say: Progress) -> int:
    with open_session(args.cache, uri=args.uri, run_root=args.root, destroy_on_close=False) as session:
        for name in session.testbed.hv.domain_names():
            session.testbed.remove(name)
            say(f"{name} destroyed")
    if args.uri is None:
        shutil.rmtree(args.root, ignore_errors=True)
    say("down")
    return 0


def cmd_shell(args: argparse.Namespace, say: Progress) -> int:
    socket_path = Layout(args.root, args.cache / "logs").channel_socket(args.vm)
    with GuestShell.connect(socket_path, within=args.wait) as shell:
        if args.cmd:
            reply = shell.run(" ".join(args.cmd), within=args.timeout)
            print(reply.output, end="", flush=True)
            return reply.returncode
        say(f"{args.vm}: root shell (one command per line; end of input quits)")
        for line in sys.stdin:
            if line.strip():
                reply = shell.run(line.rstrip("\n"), within=args.timeout)
                print(reply.output, end="", flush=True)
                if reply.returncode:
                    say(f"exit status {reply.returncode}")
    return 0


Scenario = Callable[[Session, Path], scenarios.Observed]


def _scenario_table(args: argparse.Namespace, say: Progress) -> dict[str, Scenario]:
    def agent_status(session: Session, _workdir: Path) -> scenarios.Observed:
        kernel, initramfs = _ramdisk(args.repo, say)
        return asyncio.run(scenarios.agent_status(session, kernel, initramfs))

    return {"tenant-disk": scenarios.tenant_from_disk, "tenant-net": scenarios.tenant_network,
            "agent-status": agent_status}


def cmd_run(args: argparse.Namespace, say: Progress) -> int:
    scenario = _scenario_table(args, say)[args.scenario]
    with open_session(args.cache, uri=args.uri) as session, tempfile.TemporaryDirectory() as tmp:
        say(f"accelerator: {session.accel.domain_type.value} ({session.accel.reason})")
        say(f"running {args.scenario}")
        seen = scenario(session, Path(tmp))
    for step, seconds in seen.timings.items():
        say(f"  {step}: {seconds:.1f} s after start")
    wrong = {k: (v, seen.seen.get(k)) for k, v in seen.expected.items() if seen.seen.get(k) != v}
    for key, (want, got) in wrong.items():
        say(f"  MISMATCH {key}: expected {want!r}, saw {got!r} (console log: {seen.console_log})")
    say(f"{args.scenario}: {'FAILED' if wrong else 'ok'}")
    return 1 if wrong else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teeth-testbed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="source tree (default: .)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="built artefacts and console logs")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="embedded libvirt root for up/down")
    parser.add_argument("--system", dest="uri", action="store_const", const=SYSTEM_URI,
                        help=f"use {SYSTEM_URI} (a running libvirtd) instead of the embedded driver")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="boot N ramdisk VMs and leave them running")
    up.add_argument("-n", type=int, default=1, help="number of VMs (default 1)")
    up.add_argument("--endpoint-port", type=int, default=9999, help="host endpoint port on 127.0.0.1")
    up.add_argument("--image-port", type=int, default=8080, help="host image server port on 127.0.0.1")
    sub.add_parser("status", help="list running testbed VMs")
    sub.add_parser("down", help="destroy the VMs `up` started")
    shell = sub.add_parser("shell", help="run commands as root in a VM `up` started")
    shell.add_argument("vm", help="VM name, e.g. teeth-vm0")
    shell.add_argument("cmd", nargs=argparse.REMAINDER, help="one command line (default: read stdin)")
    shell.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the shell to answer")
    shell.add_argument("--timeout", type=float, default=600.0, help="seconds a command may take")
    run = sub.add_parser("run", help="run one scenario and clean up")
    run.add_argument("scenario", choices=["tenant-disk", "tenant-net", "agent-status"])
    sub.add_parser("build-ramdisk", add_help=False,
                   help="build the DIB ramdisk (further arguments go to python -m testbed.ramdisk)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["build-ramdisk"]:
        from testbed.ramdisk.__main__ import main as ramdisk_main

        return ramdisk_main(argv[1:])
    args = _parser().parse_args(argv)
    args.cache, args.repo = args.cache.resolve(), args.repo.resolve()
    commands = {"up": cmd_up, "status": cmd_status, "down": cmd_down, "run": cmd_run, "shell": cmd_shell}
    say = Progress()
    try:
        return commands[args.command](args, say)
    except FAILURES as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
