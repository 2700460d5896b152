"""`teeth-agent-netconfig`: the ramdisk's network, set up before systemd-networkd starts.

    teeth-agent-netconfig apply   plan from the kernel command line / network_data.json, write networkd
                                  files and the report, set the host name (teeth-netconfig.service)
    teeth-agent-netconfig wait    wait for the links the plan configured (not for every NIC), via
                                  systemd-networkd-wait-online (its drop-in in the ramdisk calls this)

Kernel options: `teeth.network=config-drive` (the `config-2` filesystem's openstack/latest/
network_data.json) or `teeth.network=/PATH`; `teeth.media=LABEL` copies `/teeth/network_data.json` and
`/teeth/token` from a labelled filesystem (the virtual-media ISO) into /run/teeth-agent first. Then dracut
`ip=`/`vlan=`/`bond=`/`nameserver=`/`ifname=`/`rd.route=`/`hostname=`. `apply` never fails the boot: what
it cannot use is logged, the plan falls back to DHCP, and the report says why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from teeth_agent.backend.linux import config_media
from teeth_agent.backend.linux.exec import Runner, SubprocessRunner
from teeth_agent.cmdline import CmdlineError, parse_cmdline
from teeth_agent.netconfig import writer
from teeth_agent.netconfig.model import NetworkPlan
from teeth_agent.netconfig.networkd import NicName, render
from teeth_agent.netconfig.plan import plan_network

CONFIG_DRIVE_LABEL = "config-2"
CONFIG_DRIVE_FILE = "openstack/latest/network_data.json"
RUN_DIR = Path("/run/teeth-agent")
WAIT_ONLINE = "/lib/systemd/systemd-networkd-wait-online"
ARPHRD_ETHER = "1"
MEDIA_FILES = {"network_data.json": 0o644, "token": 0o600}  # name on the media -> mode in /run


def wired_nics(sys_class_net: Path = Path("/sys/class/net")) -> list[NicName]:
    """Physical Ethernet NICs (they have a device link; bonds, VLANs and lo do not)."""
    out = []
    for entry in sorted(sys_class_net.iterdir()) if sys_class_net.is_dir() else []:
        try:
            if (entry / "type").read_text().strip() == ARPHRD_ETHER and (entry / "device").exists():
                out.append(NicName(entry.name, (entry / "address").read_text().strip().lower()))
        except OSError:
            continue
    return out


async def _from_media(runner: Runner, label: str, problems: list[str]) -> dict[str, bytes]:
    """The optional /teeth/network_data.json and /teeth/token of the filesystem labelled `label`."""
    device = await config_media.find_by_label(runner, label)
    if device is None:
        problems.append(f"teeth.media={label}: no filesystem with that label")
        return {}
    found: dict[str, bytes] = {}
    try:
        async with config_media.mounted(runner, device) as root:
            for name in MEDIA_FILES:
                try:
                    found[name] = config_media.read_inside(root, f"teeth/{name}")
                except config_media.MediaError:
                    continue  # each file is optional on the media
    except config_media.MediaError as exc:
        problems.append(f"teeth.media={label}: {exc}")
    return found


async def _config_drive(runner: Runner, problems: list[str]) -> bytes | None:
    device = await config_media.find_by_label(runner, CONFIG_DRIVE_LABEL)
    if device is None:
        problems.append("teeth.network=config-drive: no filesystem labelled config-2")
        return None
    try:
        async with config_media.mounted(runner, device) as root:
            return config_media.read_inside(root, CONFIG_DRIVE_FILE)
    except config_media.MediaError as exc:
        problems.append(f"teeth.network=config-drive: {exc}")
        return None


def _local_file(where: str, problems: list[str]) -> bytes | None:
    path = Path(where)
    if not path.is_file() or path.stat().st_size > config_media.MAX_FILE:
        problems.append(f"teeth.network={where}: no such file (or larger than 1 MiB)")
        return None
    return path.read_bytes()


def _decode(raw: bytes | None, where: str, problems: list[str]) -> object | None:
    if raw is None:
        return None
    try:
        data: object = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(f"teeth.network={where}: not JSON ({exc})")
        return None
    return data


def _save(run_dir: Path, found: dict[str, bytes]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, data in found.items():
        fd = os.open(run_dir / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, MEDIA_FILES[name])
        with os.fdopen(fd, "wb") as out:
            out.write(data)


async def apply(
    cmdline: str, *, runner: Runner, nics: list[NicName], run_dir: Path, networkd_dir: Path, report: Path
) -> int:
    problems: list[str] = []
    try:
        options = parse_cmdline(cmdline).options
    except CmdlineError as exc:
        options = {}
        problems.append(f"kernel command line: {exc}")
    if options.get("media"):
        _save(run_dir, await _from_media(runner, options["media"], problems))
    where = options.get("network")
    data: object | None = None
    if where:
        if where == "config-drive":
            raw = await _config_drive(runner, problems)
        else:
            raw = _local_file(where, problems)
        data = _decode(raw, where, problems)
    return _put_in_place(plan_network(cmdline, data, problems=tuple(problems)), nics, networkd_dir, report)


def _put_in_place(plan: NetworkPlan, nics: list[NicName], networkd_dir: Path, report: Path) -> int:
    rendered = render(plan, nics)
    writer.write_files(rendered, networkd_dir)
    writer.write_report(writer.report(plan, rendered), report)
    if plan.hostname:
        try:
            socket.sethostname(plan.hostname)
        except OSError as exc:
            print(f"teeth-agent-netconfig: cannot set the host name: {exc}", file=sys.stderr)
    print(f"teeth-agent-netconfig: network from {plan.source}; waiting for "
          f"{', '.join(rendered.wait_for) or 'any link'}", file=sys.stderr)
    for problem in (*plan.problems, *(f"link {u}: no such NIC" for u in rendered.unresolved)):
        print(f"teeth-agent-netconfig: not used: {problem}", file=sys.stderr)
    return 0


def wait_argv(report: dict[str, object] | None, timeout: int) -> list[str]:
    names = report.get("wait_for") if report else None
    interfaces = [n for n in names if isinstance(n, str)] if isinstance(names, list) else []
    selection = [arg for name in interfaces for arg in ("-i", name)] or ["--any"]
    return [WAIT_ONLINE, *selection, f"--timeout={timeout}"]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="teeth-agent-netconfig")
    p.add_argument("action", choices=("apply", "wait"))
    p.add_argument("--cmdline-file", type=Path, default=Path("/proc/cmdline"))
    p.add_argument("--networkd-dir", type=Path, default=writer.NETWORKD_DIR)
    p.add_argument("--report", type=Path, default=writer.REPORT_PATH)
    p.add_argument("--run-dir", type=Path, default=RUN_DIR)
    p.add_argument("--timeout", type=int, default=90)
    args = p.parse_args(argv)
    if args.action == "wait":
        command = wait_argv(writer.read_report(args.report), args.timeout)
        os.execv(command[0], command)
    cmdline = args.cmdline_file.read_text() if args.cmdline_file.is_file() else ""
    return asyncio.run(apply(cmdline, runner=SubprocessRunner(), nics=wired_nics(), run_dir=args.run_dir,
                             networkd_dir=args.networkd_dir, report=args.report))


if __name__ == "__main__":
    sys.exit(main())
