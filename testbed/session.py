"""One testbed session: the tenant image, a libvirt connection, the KVM/TCG choice, cleanup.

Used by the pytest fixtures and by `teeth-testbed`. Built artefacts (tenant image, probe result,
console logs) live in the cache directory (`.cache/testbed`); everything per run (embedded libvirt
root, disks, sockets) lives in a short temporary directory, because unix socket paths are limited
to 107 bytes, and is deleted when the session ends unless the caller owns it.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testbed import kvm_probe, tenant_image
from testbed.harness import Layout, Testbed
from testbed.hypervisor import connect
from testbed.kvm_probe import AccelChoice
from testbed.spec import DomainType
from testbed.tenant_image import TenantImage

DEFAULT_CACHE = Path(".cache/testbed")


@dataclass(frozen=True)
class Session:
    testbed: Testbed
    tenant: TenantImage
    accel: AccelChoice
    cache: Path


@contextmanager
def _run_root(given: Path | None, *, daemon: bool) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        if daemon:
            given.chmod(0o711)
        yield given
        return
    made = Path(tempfile.mkdtemp(prefix="teeth-tb-"))
    if daemon:
        # A libvirt daemon runs QEMU as its own user (libvirt-qemu): it chowns the disk images, but the
        # directories on the way to them must let that user through. mkdtemp makes them 0700.
        made.chmod(0o711)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


@contextmanager
def open_session(cache: Path = DEFAULT_CACHE, *, uri: str | None = None, run_root: Path | None = None,
                 destroy_on_close: bool = True) -> Iterator[Session]:
    """Everything a testbed user needs; with destroy_on_close no VM outlives the block."""
    cache = cache.resolve()
    tenant = tenant_image.ensure(cache / "tenant")
    with _run_root(run_root, daemon=uri is not None) as root:
        embed_root = None if uri else root / "libvirt"
        with connect(embed_root=embed_root, uri=uri, destroy_on_close=destroy_on_close) as hv:
            testbed = Testbed(hv, Layout(root, cache / "logs"), DomainType.TCG)
            key = kvm_probe.cache_key(tenant.kernel_version)
            accel = kvm_probe.choose_cached(cache / "accel.json", key, testbed, tenant.kernel, tenant.initrd)
            testbed = dataclasses.replace(testbed, domain_type=accel.domain_type)
            yield Session(testbed, tenant, accel, cache)


