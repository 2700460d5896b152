"""An OpenStack `network_data.json` (as Nova and Ironic write it on a config drive) -> a `NetworkPlan` (pure).

links:    phy (and the other physical kinds Nova writes: ethernet, bridge, ovs, vif, tap, ...), bond, vlan
networks: ipv4, ipv6 (static, with routes), ipv4_dhcp, ipv6_dhcp, ipv6_slaac,
          ipv6_dhcpv6-stateless, ipv6_dhcpv6-stateful
services: dns
Anything the plan cannot honour raises NetconfigError naming the JSON path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from teeth_agent.netconfig import addresses as addr
from teeth_agent.netconfig.dracut import BOND_MODES
from teeth_agent.netconfig.model import Kind, Link, NetconfigError, NetworkPlan, Route, Source

MAX_ITEMS = 256
# network_data bond keys -> the dracut-style option names the renderer knows.
BOND_KEYS = {"bond_mode": "mode", "bond_miimon": "miimon", "bond_xmit_hash_policy": "xmit_hash_policy",
             "bond_lacp_rate": "lacp_rate", "bond_updelay": "updelay", "bond_downdelay": "downdelay"}
NETWORK_TYPES = {"ipv4", "ipv6", "ipv4_dhcp", "ipv6_dhcp", "ipv6_slaac", "ipv6_dhcpv6-stateless",
                 "ipv6_dhcpv6-stateful"}


def _items(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_ITEMS or not all(isinstance(v, dict) for v in value):
        raise NetconfigError(f"{key}: expected a list of at most {MAX_ITEMS} objects")
    return value


def _text(obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise NetconfigError(f"{path}.{key}: expected a non-empty string")
    return value


def parse_network_data(doc: object) -> NetworkPlan:
    if not isinstance(doc, dict):
        raise NetconfigError("network_data: expected a JSON object")
    links: dict[str, Link] = {}
    members: dict[str, list[str]] = {}
    for i, raw in enumerate(_items(doc, "links")):
        link = _link(raw, f"links[{i}]")
        if link.id in links:
            raise NetconfigError(f"links[{i}].id: {link.id!r} appears twice")
        links[link.id] = link
        if link.kind is Kind.BOND:
            members[link.id] = _bond_links(raw, f"links[{i}]")
    for link in list(links.values()):
        if link.kind is Kind.VLAN and link.vlan_parent not in links:
            raise NetconfigError(f"link {link.id!r}: vlan_link {link.vlan_parent!r} is not a link id")
    for bond, ids in members.items():
        for member in ids:
            if member not in links or links[member].kind is not Kind.ETHER:
                raise NetconfigError(f"link {bond!r}: bond_links names {member!r}, not a physical link")
            if links[member].bond_of is not None:
                raise NetconfigError(f"link {member!r} is in two bonds")
            links[member] = replace(links[member], bond_of=bond)
    dns: list[str] = []
    for i, raw in enumerate(_items(doc, "networks")):
        path = f"networks[{i}]"
        link_id = _text(raw, "link", path)
        assert link_id is not None
        if link_id not in links:
            raise NetconfigError(f"{path}.link: no link has id {link_id!r}")
        links[link_id] = _network(links[link_id], raw, path)
        dns.extend(_dns_list(raw.get("dns_nameservers"), f"{path}.dns_nameservers"))
        dns.extend(_services(raw, path))
    dns.extend(_services(doc, "network_data"))
    if not any(link.configured for link in links.values()):
        raise NetconfigError("network_data: no network gives any link an address or DHCP")
    return NetworkPlan(Source.NETWORK_DATA, tuple(links.values()), tuple(dict.fromkeys(dns)))


def _link(raw: dict[str, Any], path: str) -> Link:
    link_id = _text(raw, "id", path)
    assert link_id is not None
    kind = raw.get("type")
    name = _text(raw, "name", path, required=False)
    if name is not None:
        addr.interface_name(name, field=f"{path}.name")
    mtu = addr.mtu(raw["mtu"], field=f"{path}.mtu") if raw.get("mtu") is not None else None
    if kind == "bond":
        options = []
        for key, option in BOND_KEYS.items():
            if raw.get(key) is not None:
                options.append((option, str(raw[key])))
        mode = dict(options).get("mode")
        if mode is not None and mode not in BOND_MODES:
            raise NetconfigError(f"{path}.bond_mode: {mode!r} is not one of {', '.join(sorted(BOND_MODES))}")
        return Link(id=link_id, kind=Kind.BOND, name=name or _safe_name(link_id, path), mtu=mtu,
                    bond_options=tuple(options))
    if kind == "vlan":
        vlan_id = raw.get("vlan_id")
        if type(vlan_id) is not int or not 1 <= vlan_id <= 4094:
            raise NetconfigError(f"{path}.vlan_id: expected an integer 1-4094")
        parent = _text(raw, "vlan_link", path)
        return Link(id=link_id, kind=Kind.VLAN, name=name or _safe_name(link_id, path), mtu=mtu,
                    vlan_id=vlan_id, vlan_parent=parent)
    if not isinstance(kind, str):
        raise NetconfigError(f"{path}.type: expected a string")
    mac = _text(raw, "ethernet_mac_address", path, required=name is None)
    checked = addr.mac(mac, field=f"{path}.ethernet_mac_address") if mac else None
    return Link(id=link_id, name=name, mac=checked, mtu=mtu)


def _safe_name(link_id: str, path: str) -> str:
    return addr.interface_name(link_id, field=f"{path}.id (used as the interface name)")


def _bond_links(raw: dict[str, Any], path: str) -> list[str]:
    value = raw.get("bond_links")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise NetconfigError(f"{path}.bond_links: expected a non-empty list of link ids")
    return list(value)


def _network(link: Link, raw: dict[str, Any], path: str) -> Link:
    kind = raw.get("type")
    if kind not in NETWORK_TYPES:
        raise NetconfigError(f"{path}.type: {kind!r} is not one of {', '.join(sorted(NETWORK_TYPES))}")
    if kind == "ipv4_dhcp":
        return replace(link, dhcp4=True)
    if kind in ("ipv6_dhcp", "ipv6_dhcpv6-stateful"):
        return replace(link, dhcp6=True)
    if kind in ("ipv6_slaac", "ipv6_dhcpv6-stateless"):
        return replace(link, slaac=True, dhcp6=link.dhcp6 or kind == "ipv6_dhcpv6-stateless")
    address = _text(raw, "ip_address", path)
    assert address is not None
    netmask = raw.get("netmask")
    if "/" in address and netmask is None:
        iface = addr.cidr(address, field=f"{path}.ip_address")
    else:
        if not isinstance(netmask, str):
            raise NetconfigError(f"{path}.netmask: expected a netmask string")
        iface = addr.interface_address(address, netmask, field=f"{path}.ip_address")
    routes = list(link.routes)
    for j, route in enumerate(_items(raw, "routes")):
        rpath = f"{path}.routes[{j}]"
        dest, mask, gateway = (_text(route, k, rpath) for k in ("network", "netmask", "gateway"))
        assert dest is not None and mask is not None and gateway is not None
        via = addr.ip(gateway, field=f"{rpath}.gateway")
        routes.append(Route(addr.network(dest, mask, field=rpath), via))
    if raw.get("gateway") is not None:  # some generators put the gateway on the network itself
        via = addr.ip(str(raw["gateway"]), field=f"{path}.gateway")
        routes.append(Route(addr.default_destination(via), via))
    return replace(link, addresses=(*link.addresses, iface), routes=tuple(routes))


def _dns_list(value: object, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NetconfigError(f"{path}: expected a list of addresses")
    return [addr.ip(str(v), field=path) for v in value]


def _services(obj: dict[str, Any], path: str) -> list[str]:
    out = []
    for i, service in enumerate(_items(obj, "services")):
        if service.get("type") == "dns":
            out.append(addr.ip(str(service.get("address", "")), field=f"{path}.services[{i}].address"))
    return out
