"""Real-site boot paths in VMs: a static address with no DHCP, and the virtual-media ISO under SeaBIOS
and OVMF (with a malformed `ip=` on the ISO's command line, which must fall back to DHCP and say so)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed import scenarios_network
from testbed.ramdisk import RamdiskArtifacts
from testbed.session import Session

pytestmark = pytest.mark.testbed


async def test_a_static_address_from_ip_equals_reaches_the_endpoint_without_dhcp(
    testbed_session: Session, ramdisk: RamdiskArtifacts
) -> None:
    seen = await scenarios_network.static_address(testbed_session, ramdisk.kernel, ramdisk.initramfs)
    assert f"inet {scenarios_network.STATIC_ADDRESS}/24" in seen.seen["addresses"], seen.seen["addresses"]
    assert "10.0.2.15" not in seen.seen["addresses"]  # QEMU's DHCP address: no lease was taken
    assert seen.seen["leases"].strip() == "", seen.seen["leases"]
    assert seen.seen["hostname"] == "tb-static"
    network = json.loads(seen.seen["network"])
    assert network["source"] == "cmdline" and network["problems"] == []
    assert len(network["wait_for"]) == 1 and network["state"][network["wait_for"][0]] in {"up", "unknown"}


@pytest.mark.parametrize("firmware", ["bios", "efi"])
async def test_the_iso_boots_as_a_virtual_cd(
    testbed_session: Session, ramdisk: RamdiskArtifacts, tmp_path: Path, firmware: str
) -> None:
    # The ISO's cmdline carries an ip= that cannot be used: the ramdisk must still come up, on DHCP.
    seen = await scenarios_network.iso_boot(testbed_session, ramdisk.kernel, ramdisk.initramfs, tmp_path,
                                            firmware, extra_cmdline="ip=10.0.2.77::10.0.2.2:255.255.255.0")
    assert seen.seen["boot_mode"] == ("uefi" if firmware == "efi" else "bios")
    network = json.loads(seen.seen["network"])
    assert network["source"] == "dhcp-default"
    assert any("ip=10.0.2.77" in problem for problem in network["problems"]), network["problems"]
