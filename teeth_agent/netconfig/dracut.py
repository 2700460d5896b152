"""dracut-style network options on the kernel command line -> a `NetworkPlan` (pure).

Understood, as dracut.cmdline(7) spells them:
    ip={dhcp|on|any|dhcp6|auto6}                    every wired NIC
    ip=IFACE:{dhcp|on|any|dhcp6|auto6|none|off}[:MTU[:MAC]]
    ip=CLIENT:[PEER]:GATEWAY:NETMASK:HOSTNAME:IFACE:{none|off|dhcp|on|any|dhcp6|auto6}[:[MTU][:MAC]]
    ip=CLIENT:[PEER]:GATEWAY:NETMASK:HOSTNAME:IFACE:{...}[:[DNS1][:DNS2]]
    nameserver=IP   vlan=NAME:PARENT   bond=NAME[:MEMBERS[:OPTIONS[:MTU]]]   ifname=NAME:MAC
    rd.route=NET/PREFIX:GATEWAY[:IFACE]   hostname=NAME
IPv6 addresses go in square brackets. `ip=` may repeat, one interface each.
"""

from __future__ import annotations

from dataclasses import replace

from teeth_agent.netconfig import addresses as addr
from teeth_agent.netconfig.model import Kind, Link, NetconfigError, NetworkPlan, Route, Source

KEYS = ("ip", "nameserver", "vlan", "bond", "ifname", "rd.route", "hostname")
DHCP4 = {"dhcp", "on", "any"}
DHCP6 = {"dhcp6"}
SLAAC = {"auto6"}
STATIC = {"none", "off"}
AUTOCONF = DHCP4 | DHCP6 | SLAAC | STATIC
ALL_WIRED = "*"  # the id of a link that stands for every wired NIC

# dracut's bond option names -> systemd.netdev [Bond] keys (values that are times get a unit).
BOND_OPTIONS = {
    "mode": ("Mode", ""), "miimon": ("MIIMonitorSec", "ms"), "lacp_rate": ("LACPTransmitRate", ""),
    "xmit_hash_policy": ("TransmitHashPolicy", ""), "updelay": ("UpDelaySec", "ms"),
    "downdelay": ("DownDelaySec", "ms"), "ad_select": ("AdSelect", ""), "min_links": ("MinLinks", ""),
    "arp_interval": ("ARPIntervalSec", "ms"), "arp_ip_target": ("ARPIPTargets", ""),
    "all_slaves_active": ("AllSlavesActive", ""), "fail_over_mac": ("FailOverMACPolicy", ""),
    "primary_reselect": ("PrimaryReselectPolicy", ""),
}  # fmt: skip
BOND_MODES = frozenset(
    {"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}
)


def network_words(words: list[str]) -> list[tuple[str, str]]:
    """The (key, value) pairs of the words this parser reads, in order."""
    out = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key in KEYS:
            out.append((key, value))
    return out


def split_fields(value: str) -> list[str]:
    """Split on ':' outside square brackets (IPv6 addresses)."""
    fields: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in value:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0:
            fields.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise NetconfigError(f"unbalanced '[' in {value!r}")
    fields.append("".join(current))
    return fields


class _Builder:
    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.dns: list[str] = []
        self.hostname: str | None = None

    def link(self, link_id: str) -> Link:
        return self.links.get(link_id) or Link(id=link_id, name=None if link_id == ALL_WIRED else link_id)

    def put(self, link: Link) -> None:
        self.links[link.id] = link


def parse_dracut(pairs: list[tuple[str, str]]) -> NetworkPlan:
    b = _Builder()
    for key, value in pairs:
        if key == "ip":
            _ip(b, value)
        elif key == "nameserver":
            b.dns.append(addr.ip(value, field="nameserver="))
        elif key == "vlan":
            _vlan(b, value)
        elif key == "bond":
            _bond(b, value)
        elif key == "ifname":
            name, _, mac = value.partition(":")
            link = b.link(addr.interface_name(name, field="ifname="))
            b.put(replace(link, mac=addr.mac(mac, field="ifname=")))
        elif key == "rd.route":
            _route(b, value)
        elif key == "hostname":
            b.hostname = _hostname(value, "hostname=")
    if not any(link.configured for link in b.links.values()):
        raise NetconfigError("no ip= gives any interface an address or DHCP")
    return NetworkPlan(Source.CMDLINE, tuple(b.links.values()), tuple(dict.fromkeys(b.dns)), b.hostname)


def _autoconf(link: Link, mode: str, field: str) -> Link:
    if mode not in AUTOCONF:
        raise NetconfigError(f"{field}: autoconf {mode!r} is not one of {', '.join(sorted(AUTOCONF))}")
    return replace(link, dhcp4=link.dhcp4 or mode in DHCP4, dhcp6=link.dhcp6 or mode in DHCP6,
                   slaac=link.slaac or mode in SLAAC)


def _ip(b: _Builder, value: str) -> None:
    fields = split_fields(value)
    field = f"ip={value}"
    if len(fields) == 1:
        b.put(_autoconf(b.link(ALL_WIRED), fields[0], field))
        return
    if len(fields) <= 4 and fields[1] in AUTOCONF:
        link = _autoconf(b.link(addr.interface_name(fields[0], field=field)), fields[1], field)
        b.put(_mtu_mac(link, fields[2:], field))
        return
    if len(fields) < 7:
        raise NetconfigError(f"{field}: expected CLIENT:PEER:GATEWAY:NETMASK:HOSTNAME:IFACE:AUTOCONF")
    client, _peer, gateway, netmask, hostname, iface, mode, *rest = fields
    if not iface:
        raise NetconfigError(f"{field}: a static address needs the interface name (6th field)")
    link = _autoconf(b.link(addr.interface_name(iface, field=field)), mode, field)
    if client:
        address = addr.interface_address(client, netmask, field=field)
        link = replace(link, addresses=(*link.addresses, address))
    if gateway:
        via = addr.ip(gateway, field=field)
        link = replace(link, routes=(*link.routes, Route(addr.default_destination(via), via)))
    if hostname:
        b.hostname = _hostname(hostname, field)
    if rest and rest[0] and not rest[0].isdigit():
        b.dns.extend(addr.ip(d, field=field) for d in rest[:2] if d)
    else:
        link = _mtu_mac(link, rest, field)
    b.put(link)


def _mtu_mac(link: Link, rest: list[str], field: str) -> Link:
    if len(rest) > 2:
        raise NetconfigError(f"{field}: too many fields")
    if rest and rest[0]:
        link = replace(link, mtu=addr.mtu(rest[0], field=field))
    if len(rest) > 1 and rest[1]:
        link = replace(link, mac=addr.mac(rest[1], field=field))
    return link


def vlan_id_from_name(name: str, parent: str) -> int:
    """dracut's names: PARENT.ID, vlanID (vlan0005 or vlan5), PARENT.ID with a zero-padded ID."""
    digits = ""
    if name.startswith(parent + "."):
        digits = name[len(parent) + 1 :]
    elif name.startswith("vlan"):
        digits = name[4:]
    elif "." in name:
        digits = name.rsplit(".", 1)[1]
    if not digits.isdigit() or not 1 <= int(digits) <= 4094:
        raise NetconfigError(f"vlan={name}:{parent}: the VLAN id (1-4094) must be in the name, as "
                             f"{parent}.ID or vlanID")
    return int(digits)


def _vlan(b: _Builder, value: str) -> None:
    name, _, parent = value.partition(":")
    field = f"vlan={value}"
    addr.interface_name(name, field=field)
    addr.interface_name(parent, field=field)
    b.put(replace(b.link(name), kind=Kind.VLAN, vlan_id=vlan_id_from_name(name, parent), vlan_parent=parent))
    if parent not in b.links:
        b.put(b.link(parent))


def _bond(b: _Builder, value: str) -> None:
    field = f"bond={value}"
    fields = split_fields(value) if value else []
    name = fields[0] if fields and fields[0] else "bond0"
    members = [m for m in (fields[1] if len(fields) > 1 else "eth0,eth1").split(",") if m]
    options = _bond_options(fields[2] if len(fields) > 2 else "", field)
    bond = replace(b.link(addr.interface_name(name, field=field)), kind=Kind.BOND, bond_options=options)
    if len(fields) > 3 and fields[3]:
        bond = replace(bond, mtu=addr.mtu(fields[3], field=field))
    if len(fields) > 4:
        raise NetconfigError(f"{field}: expected NAME:MEMBERS:OPTIONS:MTU")
    b.put(bond)
    for member in members:
        b.put(replace(b.link(addr.interface_name(member, field=field)), bond_of=bond.id))


def _bond_options(text: str, field: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in BOND_OPTIONS or not value:
            raise NetconfigError(f"{field}: bond option {item!r} is not one of "
                                 f"{', '.join(sorted(BOND_OPTIONS))} with a value")
        if key == "mode" and value not in BOND_MODES:
            modes = ", ".join(sorted(BOND_MODES))
            raise NetconfigError(f"{field}: bond mode {value!r} is not one of {modes}")
        out.append((key, value))
    return tuple(out)


def _route(b: _Builder, value: str) -> None:
    field = f"rd.route={value}"
    fields = split_fields(value)
    if len(fields) not in (2, 3):
        raise NetconfigError(f"{field}: expected NET/PREFIX:GATEWAY[:IFACE]")
    dest, _, prefix = fields[0].strip("[]").partition("/")
    destination = addr.network(dest, prefix or "32", field=field)
    via = addr.ip(fields[1], field=field)
    target = fields[2] if len(fields) == 3 and fields[2] else None
    if target is None:
        with_address = [lk for lk in b.links.values() if lk.addresses]
        if len(with_address) != 1:
            raise NetconfigError(f"{field}: name the interface (3rd field) when several carry addresses")
        target = with_address[0].id
    link = b.link(addr.interface_name(target, field=field))
    b.put(replace(link, routes=(*link.routes, Route(destination, via))))


def _hostname(value: str, field: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or not all(0 < len(lb) <= 63 and lb.replace("-", "").isalnum() and lb.isascii()
                                   for lb in labels):
        raise NetconfigError(f"{field}: {value!r} is not a host name")
    return value
