"""Real boots under QEMU via libvirt: the tenant image proves the testbed before the agent exists.

These need qemu and libvirt; without them they fail (never skip) unless TEETH_SKIP_TESTBED=1.
"""

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import configdrive, tenant_files
from testbed.console import ConsoleWaitError
from testbed.harness import GUEST_ENDPOINT
from testbed.session import Session
from testbed.spec import Bus, DiskBoot, DiskSpec, GuestForward, KernelBoot, Smbios, VmSpec

pytestmark = pytest.mark.testbed
MIB = 1 << 20
BOOT_WITHIN_S = 180  # TCG on a busy CI machine; a KVM boot takes seconds


@pytest.fixture
def host_service() -> Iterator[tuple[int, list[str]]]:
    """A one-line-in, one-line-out TCP service on 127.0.0.1; yields its port and the lines it got."""
    seen: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn, conn.makefile("rwb") as f:
                line = f.readline().decode().strip()
                seen.append(line)
                f.write(f"welcome {line}\n".encode())
    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        worker.join(timeout=5)
        listener.close()


def test_tenant_boots_from_disk_through_seabios_and_grub(testbed_session: Session, tmp_path: Path) -> None:
    testbed, tenant = testbed_session.testbed, testbed_session.tenant
    instance = str(uuid.uuid4())
    spec = VmSpec(name="tenant-disk", memory_mib=512, boot=DiskBoot("root"), disks=(
        DiskSpec("root", Bus.SATA, 128 * MIB, "TB-ROOT-1"),
        DiskSpec("config", Bus.VIRTIO, 16 * MIB, "TB-CONFIG-1"),
        DiskSpec("scratch", Bus.NVME, 64 * MIB, "TB-NVME-4K", logical_block_size=4096),
        DiskSpec("spare", Bus.SATA, 64 * MIB, "TB-SATA-512E", physical_block_size=4096),
    ))
    seed = {"root": tenant.disk, "config": configdrive.make(tmp_path / "config.img", instance)}
    with testbed.vm(spec, seed=seed) as vm:
        vm.wait_for("grub: loading teeth tenant", within=BOOT_WITHIN_S, what="grub menu entry")
        vm.wait_for(tenant_files.BOOT_MARKER, within=BOOT_WITHIN_S, what="tenant marker")
        found = vm.wait_for(tenant_files.UUID_PREFIX + r"(\S+)", within=60, what="config drive uuid")
        assert found.group(1) == instance
        # The tenant powers off: a wait for text that never comes ends at once and names the log.
        with pytest.raises(ConsoleWaitError) as info:
            vm.wait_for("NOT-ON-THIS-CONSOLE", within=BOOT_WITHIN_S, what="absent text")
        assert "the VM stopped" in str(info.value) and str(vm.console.path) in str(info.value)
        vm_dir = testbed.layout.vm_dir(spec.name)
        assert (vm_dir / "root.img").is_file()
    assert testbed.hv.lookup(spec.name) is None
    assert not vm_dir.exists()
    assert vm.console.path.is_file()  # kept for whoever reads a failure message


def test_direct_kernel_boot_reaches_only_the_forwarded_host_service(
    testbed_session: Session, tmp_path: Path, host_service: tuple[int, list[str]]
) -> None:
    testbed, tenant = testbed_session.testbed, testbed_session.tenant
    port, seen = host_service
    instance = str(uuid.uuid4())
    guest_ip, guest_port = GUEST_ENDPOINT
    cmdline = f"{tenant_files.KERNEL_CMDLINE} {tenant_files.HELLO_ARG}={guest_ip}:{guest_port}"
    spec = VmSpec(name="tenant-net", memory_mib=512, smbios=Smbios(system_serial="TB-SERIAL-77"),
                  boot=KernelBoot(tenant.kernel, tenant.initrd, cmdline),
                  forwards=(GuestForward(guest_ip, guest_port, port),),
                  disks=(DiskSpec("config", Bus.NVME, 16 * MIB, "TB-NVME-CFG"),))
    with testbed.vm(spec, seed={"config": configdrive.make(tmp_path / "config.img", instance)}) as vm:
        found = vm.wait_for(tenant_files.UUID_PREFIX + r"(\S+) device=(\S+)", within=BOOT_WITHIN_S,
                            what="config drive uuid over NVMe")
        assert found.groups() == (instance, "/dev/nvme0n1")
        reply = vm.wait_for(tenant_files.HELLO_PREFIX + r"(.*)", within=60, what="reply from the host")
        assert reply.group(1).strip() == "welcome hello serial=TB-SERIAL-77"
        vm.wait_stopped(within=60)
    assert seen == ["hello serial=TB-SERIAL-77"]
