"""End-to-end scenarios shared by the tests and `teeth-testbed run`: each boots a VM, observes it from
the host, cleans up, and returns what it saw with timings. They judge nothing; callers assert.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from testbed import agent_vm, configdrive, guest_shell, services, tenant_files
from testbed.harness import GUEST_ENDPOINT, GUEST_IMAGE_SERVER
from testbed.session import Session
from testbed.spec import Bus, DiskBoot, DiskSpec, GuestForward, KernelBoot, Smbios, VmSpec

MIB = 1 << 20
BOOT_WITHIN_S = 180.0  # TCG on a loaded two-core CI machine; under KVM a boot takes seconds
RAMDISK_CMDLINE = "console=ttyS0,115200 panic=-1"
RAMDISK_DISK_BYTES = 256 * MIB
AGENT_CHANNEL = "org.teeth.agent.0"


@dataclass
class Observed:
    """What a scenario saw; `timings` maps step names to seconds since the VM started."""

    expected: dict[str, str] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    console_log: Path | None = None


def tenant_from_disk(session: Session, workdir: Path) -> Observed:
    """Direct kernel boot first; once the guest has powered off, switch the VM to boot from its SATA
    disk (as a BMC would) and go SeaBIOS -> grub -> tenant. Config drive on virtio; NVMe 4K and SATA
    512e disks attached as well."""
    instance = str(uuid.uuid4())
    tenant = session.tenant
    spec = VmSpec(name="tenant-disk", memory_mib=512, disks=(
        DiskSpec("root", Bus.SATA, 128 * MIB, "TB-ROOT-1"),
        DiskSpec("config", Bus.VIRTIO, 16 * MIB, "TB-CONFIG-1"),
        DiskSpec("scratch", Bus.NVME, 64 * MIB, "TB-NVME-4K", logical_block_size=4096),
        DiskSpec("spare", Bus.SATA, 64 * MIB, "TB-SATA-512E", physical_block_size=4096),
    ), boot=KernelBoot(tenant.kernel, tenant.initrd, tenant_files.KERNEL_CMDLINE))
    seed = {"root": tenant.disk, "config": configdrive.make(workdir / "config.img", instance)}
    out = Observed(expected={"uuid": instance, "uuid_after_switch": instance})
    with session.testbed.vm(spec, seed=seed) as vm:
        out.console_log, started = vm.console.path, time.monotonic()
        uuid_line = tenant_files.UUID_PREFIX + r"(\S+)"
        found = vm.wait_for(uuid_line, within=BOOT_WITHIN_S, what="uuid (kernel boot)")
        out.seen["uuid"] = found.group(1)
        vm.wait_stopped(within=60)
        out.timings["kernel_boot_powered_off"] = time.monotonic() - started
        started = time.monotonic()
        mark = vm.restart(DiskBoot("root"))
        vm.wait_for("grub: loading teeth tenant", within=BOOT_WITHIN_S, what="grub menu entry", start=mark)
        out.timings["disk_boot_grub"] = time.monotonic() - started
        vm.wait_for(tenant_files.BOOT_MARKER, within=BOOT_WITHIN_S, what="tenant marker", start=mark)
        out.timings["disk_boot_marker"] = time.monotonic() - started
        found = vm.wait_for(uuid_line, within=60, what="uuid (disk boot)", start=mark)
        out.seen["uuid_after_switch"] = found.group(1)
        vm.wait_stopped(within=60)
        out.timings["disk_boot_powered_off"] = time.monotonic() - started
    return out


def tenant_network(session: Session, workdir: Path) -> Observed:
    """Direct kernel boot; config drive on NVMe; the guest reaches a host service through guestfwd and
    writes a line to its virtio-serial channel, which the host reads from the channel's unix socket."""
    instance, serial = str(uuid.uuid4()), "TB-SERIAL-77"
    guest_ip, guest_port = GUEST_ENDPOINT
    out = Observed(expected={"uuid": instance, "device": "/dev/nvme0n1", "hello": f"hello serial={serial}"})
    with services.line_service(lambda line: f"welcome {line}") as service:
        spec = VmSpec(name="tenant-net", memory_mib=512, smbios=Smbios(system_serial=serial),
                      forwards=(GuestForward(guest_ip, guest_port, service.port),),
                      disks=(DiskSpec("config", Bus.NVME, 16 * MIB, "TB-NVME-CFG"),))
        cmdline = (f"{tenant_files.KERNEL_CMDLINE} {tenant_files.HELLO_ARG}={guest_ip}:{guest_port} "
                   f"{tenant_files.CHANNEL_ARG}={spec.channel_name}")
        tenant = session.tenant
        spec = dataclasses.replace(spec, boot=KernelBoot(tenant.kernel, tenant.initrd, cmdline))
        out.expected["channel"] = f"hello over {spec.channel_name} serial={serial}"
        seed = {"config": configdrive.make(workdir / "config.img", instance)}
        with session.testbed.vm(spec, seed=seed) as vm:
            out.console_log, started = vm.console.path, time.monotonic()
            assert vm.host.channel_socket is not None
            out.seen["channel"] = services.read_unix_line(vm.host.channel_socket, within=BOOT_WITHIN_S)
            out.timings["channel"] = time.monotonic() - started
            found = vm.wait_for(tenant_files.UUID_PREFIX + r"(\S+) device=(\S+)", within=60,
                                what="config drive uuid over NVMe")
            out.seen["uuid"], out.seen["device"] = found.groups()
            reply = vm.wait_for(tenant_files.HELLO_PREFIX + r"(.*)", within=60, what="reply from the host")
            out.seen["reply"] = reply.group(1).strip()
            vm.wait_stopped(within=60)
        out.seen["hello"] = " | ".join(service.lines)
    return out


def ramdisk_spec(name: str, kernel: Path, initramfs: Path, endpoint_port: int, image_port: int | None = None,
                 extra_cmdline: str = "", on_reboot: str = "restart", over_channel: bool = False) -> VmSpec:
    """A ramdisk VM: one SATA, one virtio and one 4K NVMe disk; the endpoint (and image server)
    reached through guestfwd at the harness's fixed guest addresses — or, `over_channel`, the endpoint
    over a virtio-serial port (AGENT_CHANNEL); a root shell on its channel (testbed.guest_shell),
    asked for on the kernel command line."""
    guest_ip, guest_port = GUEST_ENDPOINT
    forwards = [GuestForward(guest_ip, guest_port, endpoint_port)]
    if image_port is not None:
        forwards.append(GuestForward(*GUEST_IMAGE_SERVER, image_port))
    endpoint = f"/dev/virtio-ports/{AGENT_CHANNEL}" if over_channel else f"tcp://{guest_ip}:{guest_port}"
    cmdline = f"{RAMDISK_CMDLINE} teeth.endpoint={endpoint} {guest_shell.KERNEL_ARGS} {extra_cmdline}".strip()
    suffix = name.rsplit("-", 1)[-1].upper()
    return VmSpec(name=name, memory_mib=2048, cpus=2, boot=KernelBoot(kernel, initramfs, cmdline),
                  on_reboot=on_reboot, channel_name=guest_shell.CHANNEL,
                  agent_channel=AGENT_CHANNEL if over_channel else None,
                  smbios=Smbios(system_serial=f"TB-SYS-{suffix}", baseboard_serial=f"TB-MB-{suffix}"),
                  forwards=tuple(forwards), disks=(
                      DiskSpec("sata", Bus.SATA, RAMDISK_DISK_BYTES, f"TB-SATA-{suffix}"),
                      DiskSpec("virtio", Bus.VIRTIO, RAMDISK_DISK_BYTES, f"TB-VIRTIO-{suffix}"),
                      DiskSpec("nvme", Bus.NVME, RAMDISK_DISK_BYTES, f"TB-NVME-{suffix}",
                               logical_block_size=4096)))


async def agent_status(session: Session, kernel: Path, initramfs: Path) -> Observed:
    """Boot the DIB ramdisk; the agent's handshake reaches the reference endpoint; ask its `status`."""
    for path in (kernel, initramfs):
        if not path.is_file():
            raise FileNotFoundError(f"ramdisk file {path} not found: run `teeth-testbed build-ramdisk`")
    out = Observed()

    def make_spec(port: int) -> VmSpec:
        spec = ramdisk_spec("ramdisk-0", kernel, initramfs, port)
        out.expected.update(agent_id=spec.smbios.system_serial, backend="linux")
        return spec

    async with agent_vm.ramdisk_agent(session.testbed, make_spec) as running:
        out.console_log = running.vm.console.path
        out.timings["handshake"] = running.seconds_to_handshake
        status = await running.endpoint.call(running.agent.agent_id, "status", timeout=120)
    out.seen.update(agent_id=str(status.get("agent_id")), backend=str(status.get("backend")))
    out.seen["status"] = json.dumps(status, sort_keys=True)
    return out
