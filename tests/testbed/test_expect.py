import pytest

from testbed.expect import qc_spec
from testbed.spec import Bus, DiskSpec, Smbios, VmSpec

pytestmark = pytest.mark.testbed
MIB = 1 << 20


def test_qc_spec_groups_disks_by_type_and_size_and_carries_smbios() -> None:
    spec = VmSpec(name="vm", memory_mib=2048, cpus=2, smbios=Smbios(system_product="TB-9"), disks=(
        DiskSpec("a", Bus.SATA, 256 * MIB, "A"), DiskSpec("b", Bus.SATA, 256 * MIB, "B"),
        DiskSpec("c", Bus.NVME, 256 * MIB, "C", logical_block_size=4096),
        DiskSpec("d", Bus.VIRTIO, 64 * MIB, "D")))
    qc = qc_spec(spec)
    assert qc["system"]["product"] == "TB-9"
    assert qc["disks"] == [{"type": "hdd", "size_bytes": 256 * MIB, "count": 2},
                           {"type": "nvme", "size_bytes": 256 * MIB, "count": 1},
                           {"type": "virtio", "size_bytes": 64 * MIB, "count": 1}]
    assert qc["memory_mib"]["max"] == 2048 and qc["cpu"] == {"threads": 2}
