"""Real boots under QEMU via libvirt: the tenant image proves the testbed before the agent exists.

These need qemu and libvirt; without them they fail (never skip) unless TEETH_SKIP_TESTBED=1.
"""

from pathlib import Path

import pytest

from testbed import scenarios
from testbed.console import ConsoleWaitError
from testbed.session import Session
from testbed.spec import KernelBoot, VmSpec

pytestmark = pytest.mark.testbed


def test_tenant_boots_from_disk_through_seabios_and_grub_after_a_boot_device_switch(
    testbed_session: Session, tmp_path: Path
) -> None:
    seen = scenarios.tenant_from_disk(testbed_session, tmp_path)
    assert seen.seen["uuid"] == seen.expected["uuid"]
    assert seen.seen["uuid_after_switch"] == seen.expected["uuid_after_switch"]
    assert seen.timings["disk_boot_grub"] <= seen.timings["disk_boot_marker"]
    vm_dir = testbed_session.testbed.layout.vm_dir("tenant-disk")
    assert testbed_session.testbed.hv.lookup("tenant-disk") is None and not vm_dir.exists()
    assert seen.console_log is not None and seen.console_log.is_file()  # kept for failure messages


def test_direct_kernel_boot_reaches_the_forwarded_host_service_and_the_channel(
    testbed_session: Session, tmp_path: Path
) -> None:
    seen = scenarios.tenant_network(testbed_session, tmp_path)
    assert (seen.seen["uuid"], seen.seen["device"]) == (seen.expected["uuid"], seen.expected["device"])
    assert seen.seen["hello"] == seen.expected["hello"]  # SMBIOS serial, read in the guest
    assert seen.seen["reply"] == f"welcome {seen.expected['hello']}"
    assert seen.seen["channel"] == seen.expected["channel"]  # virtio-serial -> host unix socket


def test_a_vm_that_stops_early_fails_the_wait_naming_its_console_log(testbed_session: Session) -> None:
    tenant = testbed_session.tenant
    # No init to run: the kernel panics, panic=-1 reboots at once, on_reboot=destroy stops the VM.
    cmdline = "console=ttyS0 panic=-1 rdinit=/no-such-init"
    spec = VmSpec(name="tenant-gone", memory_mib=256, channel_name=None, on_reboot="destroy",
                  boot=KernelBoot(tenant.kernel, tenant.initrd, cmdline))
    with testbed_session.testbed.vm(spec) as vm, pytest.raises(ConsoleWaitError) as info:
        vm.wait_for("NOT-ON-THIS-CONSOLE", within=scenarios.BOOT_WITHIN_S, what="absent text")
    message = str(info.value)
    assert "the VM stopped" in message and str(vm.console.path) in message
    assert "Kernel panic" in message  # the log's last lines come along
