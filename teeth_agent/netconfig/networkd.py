"""A `NetworkPlan` -> systemd-networkd `.netdev`/`.network` files (pure; the writer puts them in /run).

networkd applies the first `.network` file, in lexical order, whose [Match] fits a link; so the plan's own
files are `20-teeth-*`, the image's default DHCP file is `80-*`, and with an explicit plan every wired NIC
the plan does not name is left alone (`70-teeth-unconfigured.network`): a stray DHCP server on an
unconfigured port must not hand the machine a second default route.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from teeth_agent.netconfig.dracut import ALL_WIRED, BOND_OPTIONS
from teeth_agent.netconfig.model import Kind, Link, NetworkPlan

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class NicName:
    """A NIC the kernel has now: its name and MAC."""

    name: str
    mac: str


@dataclass(frozen=True)
class Rendered:
    files: dict[str, str]  # file name -> contents
    wait_for: tuple[str, ...]  # interface names `online` waits for; empty means any one link
    unresolved: tuple[str, ...]  # link ids whose NIC is not present (by MAC or name)


def render(plan: NetworkPlan, nics: Iterable[NicName]) -> Rendered:
    by_mac = {n.mac.lower(): n.name for n in nics}
    names = set(by_mac.values())
    files: dict[str, str] = {}
    wait: list[str] = []
    unresolved: list[str] = []
    for index, link in enumerate(plan.links):
        stem = f"teeth-{index:02d}-{_SAFE.sub('_', link.id)[:40]}"
        if link.kind is not Kind.ETHER:
            files[f"10-{stem}.netdev"] = _netdev(link)
        files[f"20-{stem}.network"] = _network(link, plan)
        if link.id == ALL_WIRED:
            continue
        kernel_name = _kernel_name(link, by_mac, names)
        if kernel_name is None:
            unresolved.append(link.id)
        elif link.configured:
            wait.append(kernel_name)
    if plan.link(ALL_WIRED) is None:
        files["70-teeth-unconfigured.network"] = "[Match]\nType=ether\n\n[Link]\nUnmanaged=yes\n"
    return Rendered(files, tuple(dict.fromkeys(wait)), tuple(unresolved))


def _kernel_name(link: Link, by_mac: dict[str, str], names: set[str]) -> str | None:
    if link.kind is not Kind.ETHER:
        return link.name or link.id  # made by networkd itself
    if link.mac is not None:
        return by_mac.get(link.mac)
    return link.name if link.name in names else None


def _match(link: Link) -> list[str]:
    if link.id == ALL_WIRED:
        return ["Type=ether"]
    if link.kind is not Kind.ETHER:
        return [f"Name={link.name or link.id}"]
    if link.mac is not None:  # a MAC survives renaming; a name given with it is only a label
        return [f"MACAddress={link.mac}", "Type=ether"]
    return [f"Name={link.name}"]


def _netdev(link: Link) -> str:
    lines = ["[NetDev]", f"Name={link.name or link.id}", f"Kind={link.kind}"]
    if link.mtu:
        lines.append(f"MTUBytes={link.mtu}")
    if link.kind is Kind.VLAN:
        lines += ["", "[VLAN]", f"Id={link.vlan_id}"]
    elif link.kind is Kind.BOND:
        lines += ["", "[Bond]"]
        for option, value in link.bond_options:
            key, unit = BOND_OPTIONS[option]
            lines.append(f"{key}={value}{unit if value.isdigit() else ''}")
    return "\n".join(lines) + "\n"


def _network(link: Link, plan: NetworkPlan) -> str:
    lines = ["[Match]", *_match(link)]
    if link.mtu and link.kind is Kind.ETHER:
        lines += ["", "[Link]", f"MTUBytes={link.mtu}"]
    lines += ["", "[Network]"]
    if link.bond_of is not None:
        bond = plan.link(link.bond_of)
        lines.append(f"Bond={bond.name or bond.id if bond else link.bond_of}")
        return "\n".join(lines) + "\n"
    modes = {(True, True): "yes", (True, False): "ipv4", (False, True): "ipv6"}
    dhcp = modes.get((link.dhcp4, link.dhcp6), "no")
    lines.append(f"DHCP={dhcp}")
    lines.append(f"IPv6AcceptRA={'yes' if link.slaac or link.dhcp6 else 'no'}")
    lines += [f"Address={a}" for a in link.addresses]
    if link.configured:
        lines += [f"DNS={d}" for d in plan.dns]
    for vlan in plan.links:
        if vlan.kind is Kind.VLAN and vlan.vlan_parent == link.id:
            lines.append(f"VLAN={vlan.name or vlan.id}")
    if not link.configured:
        lines.append("LinkLocalAddressing=no")  # a carrier for VLANs or a bond only
    for route in link.routes:
        lines += ["", "[Route]", f"Destination={route.destination}", f"Gateway={route.gateway}"]
    return "\n".join(lines) + "\n"
