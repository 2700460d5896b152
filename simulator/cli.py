"""`teeth-sim`: the simulator's command line.

    teeth-sim demo [--machines N] [--profile P] [--scenario FILE] [--seed S] [--report PATH] [--speed X]
                   [--record FILE] [--plain]
    teeth-sim profiles                  list the shipped hardware profiles
    teeth-sim agent --profile P [teeth-agent options]   one simulated machine running the real agent
    teeth-sim replay FILE               play a recorded transcript back against a fresh agent
    teeth-sim fleet --endpoint URL --machines N [...]   real agents against any endpoint, until stopped
    teeth-sim machines | fault MACHINE KIND [ARGS]      list / inject faults into running fleets
    teeth-sim conformance --endpoint URL                check an endpoint implementation

`demo` starts the reference endpoint and a fleet of simulated machines in this process, each a real agent
talking the real protocol over 127.0.0.1 TCP, drives the scenario (decommission then standby, with faults),
shows live progress and ends with a summary table and a JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from simulator.conformance.command import add_conformance_parser, conformance_main
from simulator.fleet.scenario import Scenario, load_scenario
from simulator.machine.profile import load_profile, profile_names
from simulator.machine.tomlread import SpecError
from simulator.openfleet.commands import add_parsers as add_fleet_parsers
from simulator.openfleet.commands import fault_main, fleet_main, machines_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="teeth-sim", description="teeth-agent hardware simulator and fleet demo")
    sub = p.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a fleet of simulated machines through a scenario")
    demo.add_argument("--machines", type=int, help="fleet size (default: the scenario's)")
    demo.add_argument("--profile", help="use only this profile (default: the scenario's mix)")
    demo.add_argument("--scenario", type=Path, help="scenario TOML (default: the shipped demo.toml)")
    demo.add_argument("--seed", type=int, help="seed for identities and fault placement")
    demo.add_argument("--speed", type=float, help="simulated seconds per wall second")
    demo.add_argument("--timeout", type=float, help="wall seconds for the whole run and for any one step")
    demo.add_argument("--report", type=Path, default=Path("teeth-sim-report.json"), help="JSON report path")
    demo.add_argument("--record", type=Path, help="also record every protocol line as JSON lines here")
    demo.add_argument("--plain", action="store_true", help="no live display (for logs and CI)")
    sub.add_parser("profiles", help="list the shipped hardware profiles")
    # Parsed by teeth-agent itself (see main); listed here for --help.
    sub.add_parser("agent", help="one simulated machine: teeth-agent --backend sim [its options]")
    replay = sub.add_parser("replay", help="play a recorded transcript back against a fresh simulated agent")
    replay.add_argument("file", type=Path)
    replay.add_argument("--report", type=Path, help="write the differences as JSON here")
    add_fleet_parsers(sub)
    add_conformance_parser(sub)
    return p


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.machines is not None and args.machines < 1:
        raise SpecError("--machines", "(option)", "an integer >= 1", args.machines)
    sc = load_scenario(args.scenario, machines=args.machines, profile=args.profile, seed=args.seed)
    if args.timeout is not None:
        if not args.timeout > 0:
            raise SpecError("--timeout", "(option)", "a number of seconds > 0", args.timeout)
        sc = replace(sc, timeout=args.timeout, step_timeout=args.timeout)
    if args.speed is not None:
        if not args.speed > 0:
            raise SpecError("--speed", "(option)", "a number > 0", args.speed)
        sc = replace(sc, speed=args.speed)
    return sc


def _profiles() -> int:
    for name in profile_names():
        p = load_profile(name)
        kinds = sorted({d.transport for d in p.disks})
        system = f"{p.dmi['manufacturer']} {p.dmi['product']}"
        print(f"{name:16} {system}: {len(p.disks)} disks ({', '.join(kinds)}), {p.boot_mode} boot")
    return 0


def _agent(agent_args: list[str]) -> int:
    from teeth_agent import cli as agent_cli
    from teeth_agent.commands.entry import commands_for

    return agent_cli.main(["--backend", "sim", *agent_args], commands_for)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["agent"]:
        return _agent(argv[1:])
    args = build_parser().parse_args(argv)
    args.argv = argv
    others = {"fleet": fleet_main, "machines": machines_main, "fault": fault_main,
              "conformance": conformance_main}
    if args.command in others:
        return others[args.command](args)
    try:
        if args.command == "profiles":
            return _profiles()

        if args.command == "replay":
            from simulator.fleet.replay import replay_main

            return replay_main(args.file, args.report)
        scenario = _scenario(args)
    except SpecError as exc:
        print(f"teeth-sim: error: {exc}", file=sys.stderr)
        return 2
    from simulator.fleet.demo import run_demo

    # The agents' own log records (reconnects, retries) go to a file beside the report, not the screen.
    log_path = args.report.with_suffix(".log")
    logging.basicConfig(filename=log_path, level=logging.WARNING, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = asyncio.run(run_demo(scenario, record=args.record, live=not args.plain))
    args.report.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"report written to {args.report} (agent logs: {log_path})")
    return 0 if report["totals"]["machines"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
