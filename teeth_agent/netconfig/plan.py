"""The documented entry point: `plan_network(cmdline, network_data)` -> `NetworkPlan` (pure).

Order of precedence: a network_data.json handed in (found through `teeth.network=`), else dracut-style
`ip=`/`vlan=`/`bond=` words on the kernel command line, else DHCP on every wired NIC. A source that is
given but malformed never leaves the machine without a network: the plan falls back to DHCP and lists
what it could not use in `problems`, which the agent reports in `status`.
"""

from __future__ import annotations

from teeth_agent.cmdline import CmdlineError, split_words
from teeth_agent.netconfig.dracut import ALL_WIRED, network_words, parse_dracut
from teeth_agent.netconfig.model import Link, NetconfigError, NetworkPlan, Source
from teeth_agent.netconfig.network_data import parse_network_data

DHCP_EVERYWHERE = NetworkPlan(Source.DEFAULT, (Link(id=ALL_WIRED, dhcp4=True, dhcp6=True),))


def plan_network(
    cmdline: str, network_data: object | None = None, *, problems: tuple[str, ...] = ()
) -> NetworkPlan:
    """`problems` carries what went wrong before planning (e.g. the config drive could not be read)."""
    found = list(problems)
    if network_data is not None:
        try:
            return _with_problems(parse_network_data(network_data), found)
        except NetconfigError as exc:
            found.append(f"network_data.json: {exc}")
    try:
        pairs = network_words(split_words(cmdline))
    except CmdlineError as exc:
        pairs = []
        found.append(f"kernel command line: {exc}")
    if pairs:
        try:
            return _with_problems(parse_dracut(pairs), found)
        except NetconfigError as exc:
            found.append(f"kernel command line: {exc}")
    return _with_problems(DHCP_EVERYWHERE, found)


def _with_problems(plan: NetworkPlan, problems: list[str]) -> NetworkPlan:
    if not problems:
        return plan
    return NetworkPlan(plan.source, plan.links, plan.dns, plan.hostname, tuple(problems))
