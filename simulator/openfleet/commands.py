"""The command line of the open fleet: `teeth-sim fleet`, `teeth-sim machines`, `teeth-sim fault`.

    teeth-sim fleet --endpoint URL [--endpoint URL2 ...] --machines N [--profile P | --scenario FILE]
                    [--state-dir DIR] [--token-file F | --tokens-file F] [--seed S] [--speed X]
                    [--shards K] [--control-dir DIR] [--plain]
    teeth-sim machines [--control-dir DIR] [--json]
    teeth-sim fault MACHINE KIND [ARGS...] [--control-dir DIR]

`--tokens-file`: one line per machine, in index order: `TOKEN`, or `AGENT_ID TOKEN` to give that machine
the identity the endpoint provisioned for it ('#' comments and blank lines are skipped).
Above SHARD_ABOVE machines the fleet runs as one process per CPU (`--shards` overrides).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from simulator.machine.faults import Fault
from simulator.machine.profile import load_profile
from simulator.machine.tomlread import SpecError
from simulator.openfleet.control import ControlDirError, ControlServer, ask_all, default_control_dir
from simulator.openfleet.fleet import Credential, FleetPlan, OpenFleet
from simulator.openfleet.shards import run_sharded, shard_range
from simulator.openfleet.view import changes, summary, table

SHARD_ABOVE = 300


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    f = sub.add_parser("fleet", help="N simulated machines (real agents) against any endpoint, until stopped")
    f.add_argument("--endpoint", action="append", required=True, metavar="URL",
                   help="tcp://HOST:PORT, tls://..., unix:///PATH (repeat for failover)")
    f.add_argument("--machines", type=int, required=True)
    f.add_argument("--profile", action="append", help="profile name or .toml (repeat for a round-robin mix)")
    f.add_argument("--scenario", type=Path, help="scenario TOML: profiles, speed, seed and power-on faults")
    f.add_argument("--state-dir", type=Path, help="machines' persistent state (DIR/m00000, ...)")
    tokens = f.add_mutually_exclusive_group()
    tokens.add_argument("--token-file", type=Path, help="one shared handshake token")
    tokens.add_argument("--tokens-file", type=Path, help="per-machine tokens (and agent ids), one per line")
    f.add_argument("--seed", type=int, default=None)
    f.add_argument("--speed", type=float, default=None, help="simulated seconds per wall second")
    f.add_argument("--shards", type=int, help=f"processes (default: 1, or one per CPU above {SHARD_ABOVE})")
    f.add_argument("--shard", help=argparse.SUPPRESS)  # "i/K": this child runs the i-th of K slices
    f.add_argument("--control-dir", type=Path, help="private directory for the control socket")
    f.add_argument("--plain", action="store_true", help="log lines instead of a live table")
    m = sub.add_parser("machines", help="list the machines of running fleets")
    m.add_argument("--control-dir", type=Path)
    m.add_argument("--json", action="store_true")
    x = sub.add_parser("fault", help="inject a fault into a running machine")
    x.add_argument("machine", help="m00003, 3, or an agent id")
    x.add_argument("kind", help="lying_disk, io_error, frozen, flash_fail, drop_link, slow_download, "
                                "truncated_download, power_loss")
    x.add_argument("args", nargs="*", help="DISK / COMPONENT / RATE / AT, or key=value")
    x.add_argument("--control-dir", type=Path)


def _token(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise SpecError(str(path), "(file)", "a non-empty token")
    return token


def parse_tokens_file(path: Path) -> tuple[Credential, ...]:
    creds = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 2:
            raise SpecError(str(path), f"line {number}", "TOKEN or AGENT_ID TOKEN", raw)
        creds.append(Credential(fields[0], fields[1]) if len(fields) == 2 else Credential(None, fields[0]))
    ids = [c.agent_id for c in creds if c.agent_id]
    if len(set(ids)) != len(ids):
        raise SpecError(str(path), "(agent ids)", "each agent id once")
    return tuple(creds)


def build_plan(args: argparse.Namespace, scratch: Path) -> FleetPlan:
    if args.machines < 1:
        raise SpecError("--machines", "(option)", "an integer >= 1", args.machines)
    if args.scenario and args.profile:
        raise SpecError("--profile", "(option)", "either --profile or --scenario, not both")
    profiles: tuple[str, ...] = tuple(args.profile or ("vm",))
    faults: dict[int, tuple[Fault, ...]] = {}
    seed, speed = args.seed or 0, args.speed or 1000.0
    if args.scenario:
        from simulator.fleet.scenario import load_scenario

        sc = load_scenario(args.scenario, machines=args.machines, seed=args.seed)
        profiles, seed, speed = sc.profiles, sc.seed, args.speed or sc.speed
        faults = {i: sc.faults_of(i) for i in range(args.machines)}
    for name in profiles:
        load_profile(name)  # a bad profile fails here, naming its field
    creds = parse_tokens_file(args.tokens_file) if args.tokens_file else ()
    if creds and len(creds) < args.machines:
        raise SpecError(str(args.tokens_file), "(lines)", f"one per machine ({args.machines})", len(creds))
    from teeth_agent.dial import parse_endpoint

    for url in args.endpoint:
        try:
            parse_endpoint(url)
        except ValueError as exc:
            raise SpecError("--endpoint", "(option)", f"an endpoint URL ({exc})", url) from None
    return FleetPlan(endpoints=tuple(args.endpoint), machines=args.machines, profiles=profiles, seed=seed,
                     speed=speed, state_dir=args.state_dir, scratch=scratch,
                     shared_token=_token(args.token_file) if args.token_file else None, credentials=creds,
                     faults=faults, indices=shard_range(args.shard, args.machines) if args.shard else None)


async def _show(fleet: OpenFleet, stop: asyncio.Event, plain: bool) -> None:
    if plain:
        seen: dict[str, dict[str, Any]] = {}
        while not stop.is_set():
            snap = fleet.snapshot()
            for line in changes(seen, snap):
                print(line, flush=True)
            seen = {m["machine"]: m for m in snap}
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        return
    from rich.live import Live

    with Live(table(fleet.snapshot()), refresh_per_second=2) as live:
        while not stop.is_set():
            live.update(table(fleet.snapshot()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


async def _run_one(plan: FleetPlan, control_dir: Path, plain: bool, quiet: bool) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    fleet = OpenFleet(plan)
    control = ControlServer(fleet, control_dir)
    await control.start()
    if not quiet:
        print(f"teeth-sim fleet: {plan.machines} machines -> {', '.join(plan.endpoints)}; "
              f"control socket {control.path}", flush=True)
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(fleet.run(stop))
            if not quiet:
                tg.create_task(_show(fleet, stop, plain))
    finally:
        await control.close()
    if not quiet:
        print("teeth-sim fleet: stopped; " + summary(fleet.snapshot()), flush=True)


def fleet_main(args: argparse.Namespace) -> int:
    # One process's logging mixes every machine's agent: only what needs a person goes to stderr.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    control_dir = args.control_dir or default_control_dir()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    scratch = Path(tempfile.mkdtemp(prefix="teeth-sim-fleet-", dir=shm))
    try:
        plan = build_plan(args, scratch)
        shards = args.shards or ((os.cpu_count() or 1) if args.machines > SHARD_ABOVE else 1)
        if args.shard is None and shards > 1:
            return run_sharded(list(args.argv), shards, control_dir, args.plain)
        asyncio.run(_run_one(plan, control_dir, args.plain, quiet=args.shard is not None))
        return 0
    except (SpecError, ControlDirError, OSError) as exc:
        print(f"teeth-sim: error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def machines_main(args: argparse.Namespace) -> int:
    try:
        answers = asyncio.run(ask_all(args.control_dir or default_control_dir(), {"op": "machines"}))
    except ControlDirError as exc:
        print(f"teeth-sim: error: {exc}", file=sys.stderr)
        return 2
    machines = [m for a in answers if a.get("ok") for m in a["result"]]
    if args.json:
        print(json.dumps(machines, indent=2))
    else:
        for m in machines:
            task = m["task"] or {}
            print(f"{m['machine']}  {m['agent_id']:28} {m['profile']:14} {m['link']:8} {m['os']:10} "
                  f"{task.get('method', '-')} {task.get('state', '')}  {', '.join(m['faults'])}")
        print(summary(machines) if machines else "no running fleet")
    return 0 if machines else 1


def fault_main(args: argparse.Namespace) -> int:
    request = {"op": "fault", "machine": args.machine, "kind": args.kind, "args": list(args.args)}
    try:
        answers = asyncio.run(ask_all(args.control_dir or default_control_dir(), request))
    except ControlDirError as exc:
        print(f"teeth-sim: error: {exc}", file=sys.stderr)
        return 2
    for a in answers:
        if a.get("ok"):
            print(a["result"])
            return 0
        if a.get("type") != "not_found":
            print(f"teeth-sim: fault: {a.get('error')}", file=sys.stderr)
            return 1
    print(f"teeth-sim: fault: no running machine {args.machine!r}", file=sys.stderr)
    return 1
