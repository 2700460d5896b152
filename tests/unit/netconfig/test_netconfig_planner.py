"""The network planner: kernel ip=/vlan=/bond= and network_data.json -> plan -> networkd files (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from teeth_agent.netconfig.model import Kind, NetconfigError, Source
from teeth_agent.netconfig.network_data import parse_network_data
from teeth_agent.netconfig.networkd import NicName, render
from teeth_agent.netconfig.plan import plan_network

DATA = Path(__file__).parent / "data"


def doc(name: str) -> object:
    return json.loads((DATA / name).read_text())


def test_nothing_given_is_dhcp_on_every_wired_nic() -> None:
    plan = plan_network("console=ttyS0 teeth.endpoint=tcp://10.0.0.1:9999")
    assert plan.source is Source.DEFAULT and plan.problems == ()
    rendered = render(plan, [NicName("eno1", "aa:bb:cc:dd:ee:01")])
    (network,) = rendered.files.values()
    assert "Type=ether" in network and "DHCP=yes" in network
    assert rendered.wait_for == ()  # online = any one link, as before


def test_static_ipv4_from_ip_equals() -> None:
    plan = plan_network("ip=192.0.2.10::192.0.2.1:255.255.255.0:node7:eno1:none nameserver=192.0.2.53")
    assert plan.source is Source.CMDLINE and plan.hostname == "node7"
    (link,) = plan.links
    assert link.addresses == ("192.0.2.10/24",) and not link.dhcp4
    assert [(r.destination, r.gateway) for r in link.routes] == [("0.0.0.0/0", "192.0.2.1")]
    rendered = render(plan, [NicName("eno1", "aa:bb:cc:dd:ee:01"), NicName("eno2", "aa:bb:cc:dd:ee:02")])
    files = rendered.files
    network = next(text for name, text in files.items() if name.startswith("20-"))
    assert "Name=eno1" in network and "Address=192.0.2.10/24" in network and "DHCP=no" in network
    assert "Gateway=192.0.2.1" in network and "DNS=192.0.2.53" in network
    assert "Unmanaged=yes" in files["70-teeth-unconfigured.network"]  # eno2 gets no stray DHCP lease
    assert rendered.wait_for == ("eno1",)


def test_ipv6_static_with_brackets_and_dns_fields() -> None:
    plan = plan_network("ip=[2001:db8::5]::[2001:db8::1]:64::ens3:none:[2001:db8::53]")
    (link,) = plan.links
    assert link.addresses == ("2001:db8::5/64",)
    assert link.routes[0].destination == "::/0" and link.routes[0].gateway == "2001:db8::1"
    assert plan.dns == ("2001:db8::53",)


def test_lacp_bond_with_a_tagged_vlan() -> None:
    cmdline = ("bond=bond0:eno1,eno2:mode=802.3ad,miimon=100,lacp_rate=fast:9000 vlan=bond0.120:bond0 "
               "ip=172.16.120.23::172.16.120.1:24::bond0.120:none")
    plan = plan_network(cmdline)
    kinds = {lk.id: lk.kind for lk in plan.links}
    assert kinds == {"bond0": Kind.BOND, "eno1": Kind.ETHER, "eno2": Kind.ETHER, "bond0.120": Kind.VLAN}
    rendered = render(plan, [NicName("eno1", "aa:00:00:00:00:01"), NicName("eno2", "aa:00:00:00:00:02")])
    netdevs = {n: t for n, t in rendered.files.items() if n.endswith(".netdev")}
    bond = next(t for t in netdevs.values() if "Kind=bond" in t)
    assert "Mode=802.3ad" in bond and "MIIMonitorSec=100ms" in bond and "LACPTransmitRate=fast" in bond
    assert "MTUBytes=9000" in bond
    vlan = next(t for t in netdevs.values() if "Kind=vlan" in t)
    assert "Id=120" in vlan and "Name=bond0.120" in vlan
    networks = [t for n, t in rendered.files.items() if n.startswith("20-")]
    assert sum("Bond=bond0" in t for t in networks) == 2
    carrier = next(t for t in networks if "Name=bond0\n" in t)
    assert "VLAN=bond0.120" in carrier and "LinkLocalAddressing=no" in carrier
    assert rendered.wait_for == ("bond0.120",)  # not the members, not every NIC


def test_ifname_binds_a_name_to_a_mac_so_renaming_does_not_matter() -> None:
    plan = plan_network("ifname=prov0:AA:BB:CC:00:00:07 ip=prov0:dhcp")
    rendered = render(plan, [NicName("enp1s0", "aa:bb:cc:00:00:07")])
    network = next(t for n, t in rendered.files.items() if n.startswith("20-"))
    assert "MACAddress=aa:bb:cc:00:00:07" in network and "DHCP=ipv4" in network
    assert rendered.wait_for == ("enp1s0",)


@pytest.mark.parametrize(
    ("cmdline", "named"),
    [
        ("ip=192.0.2.10::192.0.2.1:255.255.255.0::eno1:static", "autoconf 'static'"),
        ("ip=192.0.2.300::192.0.2.1:24::eno1:none", "not an IP address"),
        ("ip=192.0.2.10::192.0.2.1:24:::none", "needs the interface name"),
        ("vlan=bond0.5000:bond0 ip=bond0.5000:dhcp", "VLAN id"),
        ("bond=bond0:eno1,eno2:mode=fastest ip=bond0:dhcp", "bond mode 'fastest'"),
        ("ip=eno1:dhcp:99999", "MTU 99999"),
        ("ip=[2001:db8::5::[2001:db8::1]:64::ens3:none", "unbalanced"),
    ],
)
def test_malformed_cmdline_falls_back_to_dhcp_and_says_why(cmdline: str, named: str) -> None:
    plan = plan_network(cmdline)
    assert plan.source is Source.DEFAULT
    assert len(plan.problems) == 1 and named in plan.problems[0], plan.problems


def test_nova_document_with_ipv4_ipv6_and_dns_services() -> None:
    plan = parse_network_data(doc("nova_phy_ipv4_ipv6.json"))
    first, second = plan.links
    assert first.mac == "fa:16:3e:52:9c:11" and first.addresses == ("10.20.30.41/24",) and first.mtu == 1450
    assert second.addresses == ("2001:db8:10::41/64",) and second.routes[0].destination == "::/0"
    assert plan.dns == ("10.20.30.2", "2001:db8:10::53")  # per-network and global, once each
    rendered = render(plan, [NicName("ens3", "fa:16:3e:52:9c:11"), NicName("ens4", "fa:16:3e:52:9c:12")])
    assert rendered.wait_for == ("ens3", "ens4") and rendered.unresolved == ()


def test_ironic_document_bond_and_vlans() -> None:
    plan = parse_network_data(doc("ironic_bond_vlans.json"))
    by_id = {lk.id: lk for lk in plan.links}
    assert by_id["port-a"].bond_of == "bond0" and by_id["port-b"].bond_of == "bond0"
    assert dict(by_id["bond0"].bond_options) == {"mode": "802.3ad", "miimon": "100",
                                                 "xmit_hash_policy": "layer3+4"}
    assert by_id["bond0.120"].vlan_id == 120 and by_id["bond0.120"].vlan_parent == "bond0"
    assert [r.destination for r in by_id["bond0.120"].routes] == ["0.0.0.0/0", "172.17.0.0/16"]
    nics = [NicName("eno1", "b4:96:91:2a:0c:10"), NicName("eno2", "b4:96:91:2a:0c:11")]
    rendered = render(plan, nics)
    assert rendered.wait_for == ("bond0.120", "bond0.130")
    bond_network = next(t for n, t in rendered.files.items() if n.startswith("20-") and "Name=bond0\n" in t)
    assert "VLAN=bond0.120" in bond_network and "VLAN=bond0.130" in bond_network


def test_dhcp_document() -> None:
    plan = parse_network_data(doc("dhcp_only.json"))
    (link,) = plan.links
    assert link.dhcp4 and not link.addresses


def test_a_nic_the_document_names_but_the_machine_lacks_is_reported() -> None:
    rendered = render(parse_network_data(doc("dhcp_only.json")), [NicName("eno1", "00:00:00:00:00:01")])
    assert rendered.unresolved == ("tapa1b2c3d4-e5",)


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d["networks"][0].update(link="nope"), "no link has id 'nope'"),
        (lambda d: d["links"][2].update(bond_links=["port-a", "ghost"]), "'ghost'"),
        (lambda d: d["links"][3].update(vlan_id=0), "vlan_id"),
        (lambda d: d["networks"][0].update(netmask="255.0.255.0"), "netmask"),
        (lambda d: d["links"][0].update(ethernet_mac_address="zz:zz"), "not a MAC"),
        (lambda d: d["networks"][0].update(type="ipv5"), "'ipv5'"),
    ],
)
def test_malformed_network_data_falls_back_to_dhcp(mutate: object, named: str) -> None:
    data = doc("ironic_bond_vlans.json")
    mutate(data)  # type: ignore[operator]
    plan = plan_network("", data)
    assert plan.source is Source.DEFAULT
    assert named in plan.problems[0], plan.problems


def test_network_data_wins_over_the_cmdline() -> None:
    plan = plan_network("ip=eno1:dhcp", doc("dhcp_only.json"))
    assert plan.source is Source.NETWORK_DATA


def test_not_an_object() -> None:
    with pytest.raises(NetconfigError, match="JSON object"):
        parse_network_data([1, 2])
