"""What the endpoint should expect of a testbed VM, derived from its VmSpec (pure).

`qc_spec` is the `decom.qc` chassis spec a VM built from `spec` must pass; tests change one field of it
to see QC fail and name that component.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from testbed.spec import Bus, VmSpec

# How the agent classifies each virtual controller's disks (QEMU's AHCI disks report rotational).
DISK_TYPES = {Bus.SATA: "hdd", Bus.VIRTIO: "virtio", Bus.NVME: "nvme"}
MEMORY_SLACK_MIB = 256  # firmware and the kernel keep some of the VM's memory from MemTotal


def qc_spec(spec: VmSpec) -> dict[str, Any]:
    groups = sorted(Counter((DISK_TYPES[d.bus], d.size_bytes) for d in spec.disks).items())
    return {
        "system": {"manufacturer": spec.smbios.system_manufacturer, "product": spec.smbios.system_product},
        "cpu": {"threads": spec.cpus},
        "memory_mib": {"min": spec.memory_mib - MEMORY_SLACK_MIB, "max": spec.memory_mib},
        "disks": [{"type": kind, "size_bytes": size, "count": n} for (kind, size), n in groups],
        "nics": {"count": 1},
        "boot_mode": "bios",
    }
