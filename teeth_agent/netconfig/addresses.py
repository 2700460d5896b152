"""Address checks shared by both sources: every address is validated before it reaches a config file."""

from __future__ import annotations

import ipaddress

from teeth_agent.netconfig.model import NetconfigError

_MAC_HEX = set("0123456789abcdef")


def interface_address(address: str, netmask: str, *, field: str) -> str:
    """`10.0.0.5` + `255.255.255.0` or `24` -> `10.0.0.5/24`; IPv6 with a prefix length or a mask."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        raise NetconfigError(f"{field}: {address!r} is not an IP address") from None
    mask = netmask.strip()
    if not mask:
        raise NetconfigError(f"{field}: {address} needs a netmask or prefix length")
    try:
        iface = ipaddress.ip_interface(f"{ip}/{prefix_of(mask)}")
    except ValueError:
        raise NetconfigError(f"{field}: {mask!r} is not a netmask or prefix length for {ip}") from None
    if iface.network.prefixlen == iface.max_prefixlen and iface.version == 4:
        raise NetconfigError(f"{field}: a /32 netmask leaves {ip} no network to reach a gateway on")
    return str(iface)


def cidr(value: str, *, field: str) -> str:
    """An address that already carries its prefix (`10.0.0.5/24`, `2001:db8::5/64`)."""
    try:
        return str(ipaddress.ip_interface(value.strip()))
    except ValueError:
        raise NetconfigError(f"{field}: {value!r} is not an address with a prefix length") from None


def prefix_of(netmask: str) -> str:
    """An IPv6 mask written as an address (`ffff:ffff::`, `::`) -> its prefix length; others unchanged."""
    if ":" not in netmask:
        return netmask
    bits = int(ipaddress.IPv6Address(netmask))
    length = 128 - (~bits & ((1 << 128) - 1)).bit_length()
    if bits != ((1 << 128) - 1) ^ ((1 << (128 - length)) - 1):
        raise ValueError(f"{netmask} is not a contiguous mask")
    return str(length)


def network(destination: str, netmask: str, *, field: str) -> str:
    try:
        return str(ipaddress.ip_network(f"{destination.strip('[]')}/{prefix_of(netmask)}", strict=False))
    except ValueError:
        raise NetconfigError(f"{field}: {destination}/{netmask} is not a network") from None


def ip(value: str, *, field: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip().strip("[]")))
    except ValueError:
        raise NetconfigError(f"{field}: {value!r} is not an IP address") from None


def default_destination(gateway: str) -> str:
    return "::/0" if ipaddress.ip_address(gateway).version == 6 else "0.0.0.0/0"


def mac(value: str, *, field: str) -> str:
    text = value.strip().lower().replace("-", ":")
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and set(p) <= _MAC_HEX for p in parts):
        raise NetconfigError(f"{field}: {value!r} is not a MAC address")
    return text


def interface_name(value: str, *, field: str) -> str:
    # The kernel's rule (IFNAMSIZ 16 with the NUL; no '/', ':' or whitespace), so nothing odd reaches a file.
    if not 0 < len(value) <= 15 or any(c in value for c in "/: \t\n=") or not value.isprintable():
        raise NetconfigError(f"{field}: {value!r} is not a usable interface name")
    return value


def mtu(value: str | int, *, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise NetconfigError(f"{field}: MTU {value!r} is not a number") from None
    if not 68 <= number <= 65535:
        raise NetconfigError(f"{field}: MTU {number} is outside 68..65535")
    return number
