import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from testbed.domain_xml import QEMU_NS, HostSide, mac_address, qemu_args, render
from testbed.spec import (
    Bus,
    DiskBoot,
    DiskSpec,
    DomainType,
    GuestForward,
    KernelBoot,
    Smbios,
    SpecError,
    VmSpec,
)

pytestmark = pytest.mark.testbed
MIB = 1 << 20
UUID = "6f1c1f2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
DISKS = (
    DiskSpec("os", Bus.SATA, 256 * MIB, "SATA-OS-1"),
    DiskSpec("data", Bus.SATA, 64 * MIB, "SATA-4K-1", physical_block_size=4096),
    DiskSpec("vd", Bus.VIRTIO, 64 * MIB, "VIRTIO-1"),
    DiskSpec("nv0", Bus.NVME, 128 * MIB, "NVME-512-1"),
    DiskSpec("nv1", Bus.NVME, 128 * MIB, "NVME-4K-1", logical_block_size=4096),
)
FORWARDS = (GuestForward("10.0.2.100", 9999, 41000), GuestForward("10.0.2.101", 8080, 41001))


def spec(**kw: object) -> VmSpec:
    args: dict[str, object] = {"name": "vm0", "uuid": UUID, "memory_mib": 1536, "cpus": 2, "disks": DISKS,
                               "forwards": FORWARDS, "smbios": Smbios(system_serial="SER-42")} | kw
    return VmSpec(**args)  # type: ignore[arg-type]


def host(domain_type: DomainType = DomainType.TCG, **paths: Path) -> HostSide:
    images = {d.name: Path(f"/srv/tb/{d.name}.img") for d in DISKS} | paths
    return HostSide(domain_type, images, Path("/srv/tb/console.log"), Path("/srv/tb/agent.sock"),
                    ("/usr/bin/python3", "/opt/relay.py"))


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def test_domain_basics_and_kernel_boot() -> None:
    boot = KernelBoot(Path("/r/teeth-agent.kernel"), Path("/r/teeth-agent.initramfs"),
                      "console=ttyS0 teeth.endpoint=tcp://10.0.2.100:9999")
    root = parse(render(spec(boot=boot), host()))
    assert root.get("type") == "qemu"
    assert root.findtext("uuid") == UUID
    assert root.find("memory").text == "1536" and root.find("memory").get("unit") == "MiB"  # type: ignore[union-attr]
    assert root.findtext("vcpu") == "2"
    assert root.find("os/type").get("machine") == "q35"  # type: ignore[union-attr]
    assert root.findtext("os/kernel") == "/r/teeth-agent.kernel"
    assert root.findtext("os/initrd") == "/r/teeth-agent.initramfs"
    assert root.findtext("os/cmdline") == boot.cmdline
    assert root.find("cpu") is None  # TCG: QEMU's default model


def test_kvm_uses_host_cpu() -> None:
    root = parse(render(spec(), host(DomainType.KVM)))
    assert root.get("type") == "kvm"
    assert root.find("cpu").get("mode") == "host-passthrough"  # type: ignore[union-attr]


def test_smbios_sections_carry_the_spec_strings_and_the_domain_uuid() -> None:
    root = parse(render(spec(), host()))
    assert root.find("os/smbios").get("mode") == "sysinfo"  # type: ignore[union-attr]
    entries = {(sec.tag, e.get("name")): e.text for sec in root.find("sysinfo") or [] for e in sec}
    assert entries[("system", "serial")] == "SER-42"
    assert entries[("system", "uuid")] == UUID
    assert entries[("baseBoard", "product")] == Smbios().baseboard_product
    assert entries[("bios", "version")] == Smbios().bios_version


def test_sata_and_virtio_disks_go_through_libvirt_with_serials_and_sector_sizes() -> None:
    root = parse(render(spec(), host()))
    disks = {d.findtext("serial"): d for d in root.findall("devices/disk")}
    assert set(disks) == {"SATA-OS-1", "SATA-4K-1", "VIRTIO-1"}
    assert disks["SATA-OS-1"].find("target").attrib == {"dev": "sda", "bus": "sata"}  # type: ignore[union-attr]
    assert disks["SATA-4K-1"].find("target").get("dev") == "sdb"  # type: ignore[union-attr]
    assert disks["VIRTIO-1"].find("target").attrib == {"dev": "vda", "bus": "virtio"}  # type: ignore[union-attr]
    assert disks["SATA-4K-1"].find("blockio").attrib == {  # type: ignore[union-attr]
        "logical_block_size": "512", "physical_block_size": "4096"}
    assert disks["VIRTIO-1"].find("source").get("file") == "/srv/tb/vd.img"  # type: ignore[union-attr]
    assert all(d.find("boot") is None for d in disks.values())
    assert disks["SATA-4K-1"].find("alias").get("name") == "ua-data"  # type: ignore[union-attr]


def test_nvme_controllers_sit_on_fixed_root_bus_slots() -> None:
    args = qemu_args(spec(), host())
    devices = [args[i + 1] for i, a in enumerate(args) if a == "-device" and args[i + 1].startswith("nvme,")]
    assert devices == [
        "nvme,id=nvme-nv0,serial=NVME-512-1,drive=drive-nvme-nv0,bus=pcie.0,addr=0x10,"
        "logical_block_size=512,physical_block_size=512",
        "nvme,id=nvme-nv1,serial=NVME-4K-1,drive=drive-nvme-nv1,bus=pcie.0,addr=0x11,"
        "logical_block_size=4096,physical_block_size=4096",
    ]
    assert "file=/srv/tb/nv1.img,if=none,id=drive-nvme-nv1,format=raw,discard=unmap" in args


def test_network_is_restricted_user_mode_with_guestfwd_to_loopback_only() -> None:
    args = qemu_args(spec(), host())
    netdev = args[args.index("-netdev") + 1]
    assert netdev.startswith("user,id=teethnet,restrict=on,")
    rules = [p.removeprefix("guestfwd=") for p in netdev.split(",") if p.startswith("guestfwd=")]
    assert rules == [
        "tcp:10.0.2.100:9999-cmd:/usr/bin/python3 /opt/relay.py 127.0.0.1 41000",
        "tcp:10.0.2.101:8080-cmd:/usr/bin/python3 /opt/relay.py 127.0.0.1 41001",
    ]
    assert f"mac={mac_address(spec())}" in args[args.index("-netdev") + 3]


def test_qemu_commandline_is_in_the_qemu_namespace() -> None:
    xml = render(spec(), host())
    root = parse(xml)
    values = [a.get("value") for a in root.iter(f"{{{QEMU_NS}}}arg")]
    assert values == qemu_args(spec(), host())


def test_console_file_and_virtio_channel() -> None:
    root = parse(render(spec(), host()))
    serial = root.find("devices/serial")
    assert serial is not None and serial.get("type") == "file"
    assert serial.find("source").attrib == {"path": "/srv/tb/console.log", "append": "on"}  # type: ignore[union-attr]
    channel = root.find("devices/channel")
    assert channel is not None and channel.find("source").get("path") == "/srv/tb/agent.sock"  # type: ignore[union-attr]
    assert channel.find("target").get("name") == "org.teeth.agent.0"  # type: ignore[union-attr]


def test_an_agent_channel_is_a_second_virtio_serial_port() -> None:
    side = dataclasses.replace(host(), channel_socket=Path("/srv/tb/channel.sock"),
                               agent_socket=Path("/srv/tb/agent.sock"))
    vm = spec(channel_name="org.teeth.testbed.shell", agent_channel="org.teeth.agent.0")
    root = parse(render(vm, side))
    ports = {c.find("target").get("name"): c.find("source").get("path")  # type: ignore[union-attr]
             for c in root.iterfind("devices/channel")}
    assert ports == {"org.teeth.testbed.shell": "/srv/tb/channel.sock",
                     "org.teeth.agent.0": "/srv/tb/agent.sock"}
    with pytest.raises(SpecError, match="must differ"):
        spec(channel_name="same", agent_channel="same")


def test_disk_boot_marks_the_boot_disk_for_the_firmware() -> None:
    root = parse(render(spec(boot=DiskBoot("os")), host()))
    boots = [d.findtext("serial") for d in root.findall("devices/disk") if d.find("boot") is not None]
    assert boots == ["SATA-OS-1"]
    assert root.find("os/kernel") is None
    nvme_boot = qemu_args(spec(boot=DiskBoot("nv1")), host())
    assert [a for a in nvme_boot if a.endswith("bootindex=1")] != []


def test_reboot_can_stop_the_vm_for_a_boot_device_switch() -> None:
    root = parse(render(spec(on_reboot="destroy"), host()))
    assert root.findtext("on_reboot") == "destroy"
    assert root.findtext("on_poweroff") == "destroy"


def test_bad_host_paths_are_refused() -> None:
    with pytest.raises(SpecError, match="no image path for disk"):
        render(spec(), HostSide(DomainType.TCG, {}, Path("/c"), None, ("relay",)))
    with pytest.raises(SpecError, match="commas"):
        qemu_args(spec(), host(nv0=Path("/srv/a,b.img")))
