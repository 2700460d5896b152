"""The plan: what each link gets (addresses, DHCP, routes, bond/VLAN), independent of where it came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class NetconfigError(ValueError):
    """A network configuration that cannot be used; the message names the parameter or field."""


class Source(enum.StrEnum):
    DEFAULT = "dhcp-default"  # nothing given: DHCP on every wired NIC
    CMDLINE = "cmdline"  # dracut-style ip=/vlan=/bond=/nameserver= on the kernel command line
    NETWORK_DATA = "network_data"  # an OpenStack network_data.json (config drive, virtual media)


class Kind(enum.StrEnum):
    ETHER = "ether"
    BOND = "bond"
    VLAN = "vlan"


@dataclass(frozen=True)
class Route:
    destination: str  # CIDR; 0.0.0.0/0 or ::/0 for the default route
    gateway: str


@dataclass(frozen=True)
class Link:
    """One interface to configure. An ether link is matched by name and/or MAC; bonds and VLANs are made."""

    id: str  # the interface name where known, else the document's link id
    kind: Kind = Kind.ETHER
    name: str | None = None
    mac: str | None = None
    mtu: int | None = None
    dhcp4: bool = False
    dhcp6: bool = False
    slaac: bool = False
    addresses: tuple[str, ...] = ()  # CIDRs
    routes: tuple[Route, ...] = ()
    bond_of: str | None = None  # the bond this link is a member of
    bond_options: tuple[tuple[str, str], ...] = ()  # for a bond: ("mode", "802.3ad"), ...
    vlan_id: int | None = None
    vlan_parent: str | None = None  # for a VLAN: the id of the link it rides on

    @property
    def configured(self) -> bool:
        """Carries an address of its own (static or dynamic), so `online` can wait for it."""
        return bool(self.addresses or self.dhcp4 or self.dhcp6 or self.slaac)


@dataclass(frozen=True)
class NetworkPlan:
    source: Source
    links: tuple[Link, ...] = ()
    dns: tuple[str, ...] = ()
    hostname: str | None = None
    # What was given but could not be used (the plan then falls back to DHCP and says so).
    problems: tuple[str, ...] = field(default=())

    def link(self, link_id: str) -> Link | None:
        return next((lk for lk in self.links if lk.id == link_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "hostname": self.hostname,
            "dns": list(self.dns),
            "problems": list(self.problems),
            "links": [
                {
                    "id": lk.id, "kind": str(lk.kind), "name": lk.name, "mac": lk.mac, "mtu": lk.mtu,
                    "dhcp4": lk.dhcp4, "dhcp6": lk.dhcp6, "slaac": lk.slaac, "addresses": list(lk.addresses),
                    "routes": [{"destination": r.destination, "gateway": r.gateway} for r in lk.routes],
                    "bond_of": lk.bond_of, "bond_options": dict(lk.bond_options), "vlan_id": lk.vlan_id,
                    "vlan_parent": lk.vlan_parent,
                }
                for lk in self.links
            ],
        }  # fmt: skip
