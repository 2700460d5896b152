"""Boot paths of real sites, end to end: a static address from `ip=` (no DHCP lease), and the
virtual-media ISO booted as a CD under SeaBIOS and OVMF. Like `scenarios`, these observe and return what
they saw; the tests judge."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from pathlib import Path

from testbed import agent_vm, domain_xml
from testbed.guest_shell import GuestShell
from testbed.harness import GUEST_ENDPOINT
from testbed.ramdisk.iso import IsoContents, build_iso
from testbed.scenarios import RAMDISK_CMDLINE, Observed, ramdisk_spec
from testbed.session import Session
from testbed.spec import CdromBoot, KernelBoot, VmSpec

STATIC_ADDRESS = "10.0.2.50"  # inside QEMU's user network, away from its DHCP range (10.0.2.15+)
QEMU_GATEWAY, QEMU_DNS = "10.0.2.2", "10.0.2.3"


def static_cmdline(mac: str) -> str:
    return (f"ifname=prov0:{mac} ip={STATIC_ADDRESS}::{QEMU_GATEWAY}:255.255.255.0:tb-static:prov0:none "
            f"nameserver={QEMU_DNS}")


async def static_address(session: Session, kernel: Path, initramfs: Path) -> Observed:
    """The ramdisk with `ip=` for a static address: the agent reaches the endpoint, and inside the guest
    the address is the one given and no DHCP lease exists."""
    out = Observed()

    def make_spec(port: int) -> VmSpec:
        spec = ramdisk_spec("static-0", kernel, initramfs, port)
        assert isinstance(spec.boot, KernelBoot)
        extra = static_cmdline(domain_xml.mac_address(spec))
        boot = dataclasses.replace(spec.boot, cmdline=f"{spec.boot.cmdline} {extra}")
        return dataclasses.replace(spec, boot=boot)

    async with agent_vm.ramdisk_agent(session.testbed, make_spec) as running:
        out.console_log = running.vm.console.path
        out.timings["handshake"] = running.seconds_to_handshake
        status = await running.endpoint.call(running.agent.agent_id, "status", timeout=120)
        out.seen["network"] = json.dumps(status["hardware"].get("network"), sort_keys=True)
        socket_path = running.vm.host.channel_socket
        assert socket_path is not None
        with await asyncio.to_thread(GuestShell.connect, socket_path, within=120) as shell:
            out.seen["addresses"] = shell.check("ip -4 -o addr show")
            out.seen["leases"] = shell.check("ls -A /run/systemd/netif/leases/ 2>/dev/null; true")
            out.seen["hostname"] = shell.check("hostname").strip()
            out.seen["networkctl"] = shell.check("networkctl list --no-pager --no-legend; true")
    return out


async def iso_boot(session: Session, kernel: Path, initramfs: Path, workdir: Path, firmware: str,
                   extra_cmdline: str = "") -> Observed:
    """`teeth-agent.iso` as a SATA CD, firmware boot (SeaBIOS or OVMF) -> grub -> the ramdisk -> the agent."""
    out = Observed()
    guest_ip, guest_port = GUEST_ENDPOINT
    cmdline = f"{RAMDISK_CMDLINE} teeth.endpoint=tcp://{guest_ip}:{guest_port} {extra_cmdline}".strip()
    iso = await asyncio.to_thread(build_iso, kernel, initramfs, workdir / f"teeth-{firmware}.iso",
                                  IsoContents(cmdline))
    name = f"iso-{firmware}".replace("efi-secure", "sb")

    def make_spec(port: int) -> VmSpec:
        spec = ramdisk_spec(name, kernel, initramfs, port)
        return dataclasses.replace(spec, boot=CdromBoot(iso), firmware=firmware)

    started = time.monotonic()
    async with agent_vm.ramdisk_agent(session.testbed, make_spec, within=600) as running:
        out.console_log = running.vm.console.path
        out.timings["boot_to_handshake"] = time.monotonic() - started
        status = await running.endpoint.call(running.agent.agent_id, "status", timeout=120)
        out.seen["boot_mode"] = str(status["hardware"].get("boot_mode"))
        out.seen["network"] = json.dumps(status["hardware"].get("network"), sort_keys=True)
        out.seen["console"] = running.vm.console.read(0)
    return out
