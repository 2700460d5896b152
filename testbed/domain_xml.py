"""VmSpec -> libvirt domain XML. Pure: no libvirt, no files touched.

SATA and virtio disks go through libvirt's own elements. What libvirt cannot express goes through
`<qemu:commandline>`: the emulated NVMe controller (pinned to `bus=pcie.0,addr=0x10+`, because libvirt
does not know about it and would otherwise put its own root ports on the same slot) and user-mode
networking with `restrict=on` plus `guestfwd` rules, so the guest reaches nothing but the host services
it is given, each on 127.0.0.1.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testbed.spec import (
    Bus,
    CdromBoot,
    DiskBoot,
    DiskSpec,
    DomainType,
    GuestForward,
    KernelBoot,
    SpecError,
    VmSpec,
)

QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
NVME_FIRST_SLOT = 0x10
NET_SLOT = 0x1C  # after room for a dozen NVMe controllers
NETDEV_ID = "teethnet"


@dataclass(frozen=True)
class HostSide:
    """Where a VM's files live on the host and how forwarded guest connections are relayed."""

    domain_type: DomainType
    disk_images: Mapping[str, Path]
    console_log: Path
    channel_socket: Path | None
    relay_argv: tuple[str, ...]  # program that joins stdin/stdout to 127.0.0.1:PORT (port is appended)
    emulator: str = "/usr/bin/qemu-system-x86_64"
    agent_socket: Path | None = None  # the host end of spec.agent_channel


def render(spec: VmSpec, host: HostSide) -> str:
    missing = [d.name for d in spec.disks if d.name not in host.disk_images]
    if missing:
        raise SpecError(f"vm {spec.name}: no image path for disk(s) {', '.join(missing)}")
    root = ET.Element("domain", {"type": host.domain_type.value, "xmlns:qemu": QEMU_NS})
    _text(root, "name", spec.name)
    _text(root, "uuid", spec.uuid)
    _text(root, "memory", str(spec.memory_mib), unit="MiB")
    _text(root, "vcpu", str(spec.cpus))
    root.append(_os(spec))
    root.append(_sysinfo(spec))
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    if spec.firmware == "efi-secure":
        ET.SubElement(features, "smm", state="on")  # OVMF's secure variable store needs SMM
    if host.domain_type is DomainType.KVM:
        ET.SubElement(root, "cpu", mode="host-passthrough")
    ET.SubElement(root, "clock", offset="utc")
    _text(root, "on_poweroff", "destroy")
    _text(root, "on_reboot", spec.on_reboot)
    _text(root, "on_crash", "destroy")
    root.append(_devices(spec, host))
    root.append(_commandline(spec, host))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    el.text = text
    return el


def _os(spec: VmSpec) -> ET.Element:
    os_el = ET.Element("os")
    if spec.firmware != "bios":
        # libvirt picks the OVMF build from the firmware descriptors (/usr/share/qemu/firmware) by feature.
        os_el.set("firmware", "efi")
        firmware = ET.SubElement(os_el, "firmware")
        secure = "yes" if spec.firmware == "efi-secure" else "no"
        ET.SubElement(firmware, "feature", enabled=secure, name="secure-boot")
        ET.SubElement(firmware, "feature", enabled=secure, name="enrolled-keys")
    _text(os_el, "type", "hvm", arch="x86_64", machine="q35")
    if isinstance(spec.boot, KernelBoot):
        _text(os_el, "kernel", str(spec.boot.kernel))
        _text(os_el, "initrd", str(spec.boot.initrd))
        _text(os_el, "cmdline", spec.boot.cmdline)
    ET.SubElement(os_el, "smbios", mode="sysinfo")
    return os_el


def _sysinfo(spec: VmSpec) -> ET.Element:
    s = spec.smbios
    sections = {
        "bios": {"vendor": s.bios_vendor, "version": s.bios_version, "date": s.bios_date},
        "system": {"manufacturer": s.system_manufacturer, "product": s.system_product,
                   "version": s.system_version, "serial": s.system_serial, "uuid": spec.uuid,
                   "sku": s.system_sku, "family": s.system_family},
        "baseBoard": {"manufacturer": s.baseboard_manufacturer, "product": s.baseboard_product,
                      "version": s.baseboard_version, "serial": s.baseboard_serial,
                      "asset": s.baseboard_asset},
    }
    sysinfo = ET.Element("sysinfo", type="smbios")
    for section, entries in sections.items():
        sec = ET.SubElement(sysinfo, section)
        for name, value in entries.items():
            _text(sec, "entry", value, name=name)
    return sysinfo


def _boot_disk(spec: VmSpec) -> str | None:
    return spec.boot.disk if isinstance(spec.boot, DiskBoot) else None


def _devices(spec: VmSpec, host: HostSide) -> ET.Element:
    devices = ET.Element("devices")
    _text(devices, "emulator", host.emulator)
    letters = {Bus.SATA: iter("abcdefghijklmnop"), Bus.VIRTIO: iter("abcdefghijklmnop")}
    for disk in spec.disks:
        if disk.bus is not Bus.NVME:
            prefix = "sd" if disk.bus is Bus.SATA else "vd"
            target = prefix + next(letters[disk.bus])
            devices.append(_libvirt_disk(disk, host.disk_images[disk.name], target, _boot_disk(spec)))
    if isinstance(spec.boot, CdromBoot):
        devices.append(_cdrom(spec.boot.iso, "sd" + next(letters[Bus.SATA])))
    ET.SubElement(devices, "controller", type="usb", model="none")
    serial = ET.SubElement(devices, "serial", type="file")
    ET.SubElement(serial, "source", path=str(host.console_log), append="on")
    ET.SubElement(serial, "target", port="0")
    for name, sock in ((spec.channel_name, host.channel_socket), (spec.agent_channel, host.agent_socket)):
        if name and sock:
            channel = ET.SubElement(devices, "channel", type="unix")
            ET.SubElement(channel, "source", mode="bind", path=str(sock))
            ET.SubElement(channel, "target", type="virtio", name=name)
    ET.SubElement(devices, "memballoon", model="none")
    return devices


def _libvirt_disk(disk: DiskSpec, image: Path, target: str, boot_disk: str | None) -> ET.Element:
    el = ET.Element("disk", type="file", device="disk")
    ET.SubElement(el, "driver", name="qemu", type="raw", discard="unmap")
    ET.SubElement(el, "source", file=str(image))
    ET.SubElement(el, "target", dev=target, bus=disk.bus.value)
    _text(el, "serial", disk.serial)
    ET.SubElement(el, "blockio", logical_block_size=str(disk.logical_block_size),
                  physical_block_size=str(disk.physical))
    if disk.name == boot_disk:
        ET.SubElement(el, "boot", order="1")
    ET.SubElement(el, "alias", name=disk_alias(disk))
    return el


def _cdrom(iso: Path, target: str) -> ET.Element:
    el = ET.Element("disk", type="file", device="cdrom")
    ET.SubElement(el, "driver", name="qemu", type="raw")
    ET.SubElement(el, "source", file=str(iso))
    ET.SubElement(el, "target", dev=target, bus="sata")
    ET.SubElement(el, "readonly")
    ET.SubElement(el, "boot", order="1")
    return el


def disk_alias(disk: DiskSpec) -> str:
    return f"ua-{disk.name}"  # libvirt keeps user aliases ("ua-" prefix) as the QEMU device id


def qemu_args(spec: VmSpec, host: HostSide) -> list[str]:
    """The extra QEMU arguments: NVMe controllers and the restricted user-mode network."""
    args: list[str] = []
    for index, disk in enumerate(spec.disks_on(Bus.NVME)):
        image = _qemu_value(str(host.disk_images[disk.name]), f"disk {disk.name} image path")
        drive = f"drive-nvme-{disk.name}"
        device = (f"nvme,id=nvme-{disk.name},serial={disk.serial},drive={drive},"
                  f"bus=pcie.0,addr={NVME_FIRST_SLOT + index:#x},"
                  f"logical_block_size={disk.logical_block_size},physical_block_size={disk.physical}")
        if disk.name == _boot_disk(spec):
            device += ",bootindex=1"
        args += ["-drive", f"file={image},if=none,id={drive},format=raw,discard=unmap", "-device", device]
    netdev = f"user,id={NETDEV_ID},restrict=on"
    netdev += "".join(f",guestfwd={_guestfwd(f, host.relay_argv)}" for f in spec.forwards)
    args += ["-netdev", netdev, "-device",
             f"virtio-net-pci,netdev={NETDEV_ID},mac={mac_address(spec)},bus=pcie.0,addr={NET_SLOT:#x},romfile="]
    return args


def _guestfwd(fwd: GuestForward, relay_argv: tuple[str, ...]) -> str:
    # `cmd:` spawns one relay per guest connection, so the agent can reconnect as often as it likes.
    argv = " ".join([*relay_argv, "127.0.0.1", str(fwd.host_port)])
    return f"tcp:{fwd.guest_ip}:{fwd.guest_port}-cmd:{_qemu_value(argv, 'relay command')}"


def _qemu_value(value: str, what: str) -> str:
    if "," in value or not value.isprintable():
        raise SpecError(f"{what} {value!r}: QEMU options cannot carry commas or control characters")
    return value


def mac_address(spec: VmSpec) -> str:
    """A stable locally administered MAC derived from the VM's uuid."""
    tail = spec.uuid.replace("-", "")[-6:]
    return "52:54:00:" + ":".join(tail[i:i + 2] for i in range(0, 6, 2))


def _commandline(spec: VmSpec, host: HostSide) -> ET.Element:
    cmd = ET.Element("qemu:commandline")
    for arg in qemu_args(spec, host):
        ET.SubElement(cmd, "qemu:arg", value=arg)
    return cmd
