import pytest

from testbed.spec import Bus, DiskBoot, DiskSpec, GuestForward, Smbios, SpecError, VmSpec

pytestmark = pytest.mark.testbed
MIB = 1 << 20


def disk(name: str = "d0", bus: Bus = Bus.SATA, **kw: object) -> DiskSpec:
    args: dict[str, object] = {"size_bytes": 64 * MIB, "serial": f"SN-{name}"} | kw
    return DiskSpec(name, bus, **args)  # type: ignore[arg-type]


def test_a_full_spec_is_accepted() -> None:
    spec = VmSpec(name="vm0", memory_mib=2048, cpus=2,
                  disks=(disk("a"), disk("b", Bus.VIRTIO), disk("c", Bus.NVME, logical_block_size=4096)),
                  boot=DiskBoot("a"), forwards=(GuestForward("10.0.2.100", 9999, 40000),))
    assert [d.name for d in spec.disks_on(Bus.NVME)] == ["c"]
    assert spec.disks[2].physical == 4096


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: disk(logical_block_size=1024), "logical_block_size"),
        (lambda: disk(logical_block_size=4096), "SATA disks need logical_block_size 512"),
        (lambda: disk(bus=Bus.NVME, logical_block_size=4096, physical_block_size=512), "physical_block_size"),
        (lambda: disk(size_bytes=MIB + 1), "size_bytes"),
        (lambda: disk(serial="has space"), "serial"),
        (lambda: disk(serial="X" * 21), "serial"),
        (lambda: VmSpec(name="Bad_Name"), "vm name"),
        (lambda: VmSpec(name="vm", memory_mib=64), "memory_mib"),
        (lambda: VmSpec(name="vm", uuid="nope"), "uuid"),
        (lambda: VmSpec(name="vm", disks=(disk("a"), disk("a", serial="other"))), "duplicate disk name"),
        (lambda: VmSpec(name="vm", disks=(disk("a"), disk("b", serial="SN-a"))), "duplicate disk serial"),
        (lambda: VmSpec(name="vm", boot=DiskBoot("missing")), "boot disk 'missing'"),
        (lambda: VmSpec(name="vm", on_reboot="pause"), "on_reboot"),
        (lambda: GuestForward("192.168.1.1", 80, 8080), "10.0.2.0/24"),
        (lambda: GuestForward("10.0.2.2", 80, 8080), "free address"),
        (lambda: GuestForward("10.0.2.100", 80, 0), "port 0"),
        (lambda: Smbios(system_serial=""), "system_serial"),
    ],
)
def test_bad_specs_name_the_field(make: object, named: str) -> None:
    with pytest.raises(SpecError, match=named):
        make()  # type: ignore[operator]
