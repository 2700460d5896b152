"""KVM or TCG: use KVM only when a short probe boot under KVM actually reaches userspace.

/dev/kvm existing is not enough (nested virtualisation can open it and still never run a guest
kernel), so the probe boots the tenant kernel and initramfs directly under KVM and waits, bounded,
for the tenant's marker. The result is cached per host kernel, QEMU and tenant kernel, because a failed
probe costs its whole wait. TEETH_TESTBED_ACCEL=kvm|tcg skips the probe.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from testbed import tenant_files
from testbed.console import ConsoleWaitError
from testbed.harness import Testbed
from testbed.hypervisor import HypervisorError
from testbed.spec import DomainType, KernelBoot, VmSpec

PROBE_WITHIN_S = 30.0
ENV = "TEETH_TESTBED_ACCEL"


@dataclass(frozen=True)
class AccelChoice:
    domain_type: DomainType
    reason: str


def choose(env_value: str | None, kvm_device_ok: bool, probe: Callable[[], str | None]) -> AccelChoice:
    """The decision alone. probe() boots under KVM and returns None on success, else why it failed."""
    if env_value:
        wanted = {"kvm": DomainType.KVM, "tcg": DomainType.TCG}.get(env_value.lower())
        if wanted is None:
            raise ValueError(f"{ENV}={env_value!r}: use kvm or tcg")
        return AccelChoice(wanted, f"{ENV}={env_value}")
    if not kvm_device_ok:
        return AccelChoice(DomainType.TCG, "/dev/kvm is missing or not read-writable")
    failure = probe()
    if failure is None:
        return AccelChoice(DomainType.KVM, "probe boot under KVM reached userspace")
    return AccelChoice(DomainType.TCG, f"probe boot under KVM failed: {failure}")


def kvm_device_ok(path: Path = Path("/dev/kvm")) -> bool:
    return path.exists() and os.access(path, os.R_OK | os.W_OK)


def probe_boot(testbed: Testbed, kernel: Path, initrd: Path, within: float = PROBE_WITHIN_S) -> str | None:
    spec = VmSpec(name="teeth-kvm-probe", memory_mib=256, channel_name=None,
                  boot=KernelBoot(kernel, initrd, tenant_files.KERNEL_CMDLINE))
    try:
        with testbed.vm(spec, domain_type=DomainType.KVM) as vm:
            vm.wait_for(tenant_files.BOOT_MARKER, within=within, what="KVM probe")
    except (ConsoleWaitError, HypervisorError) as exc:
        return str(exc).splitlines()[0]
    return None


def cache_key(tenant_kernel: str) -> str:
    qemu = Path("/usr/bin/qemu-system-x86_64")
    stamp = int(qemu.stat().st_mtime) if qemu.exists() else 0
    return f"host={platform.release()} qemu={stamp} guest={tenant_kernel}"


def choose_cached(cache: Path, key: str, testbed: Testbed, kernel: Path, initrd: Path) -> AccelChoice:
    """choose() with the probe's outcome remembered in cache under key."""
    env_value = os.environ.get(ENV)
    if not env_value:
        try:
            saved = json.loads(cache.read_text())
            if saved.get("key") == key:
                return AccelChoice(DomainType(saved["domain_type"]), f"cached: {saved['reason']}")
        except (OSError, ValueError, KeyError):
            pass
    choice = choose(env_value, kvm_device_ok(), lambda: probe_boot(testbed, kernel, initrd))
    if not env_value:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "domain_type": choice.domain_type.value,
                                     "reason": choice.reason}) + "\n")
    return choice
