"""Linux inventory over a small sysfs/procfs tree built in a temporary directory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from teeth_agent.backend.linux.inventory import LinuxInventory
from teeth_agent.backend.linux.procfs import parse_cpuinfo, parse_meminfo
from teeth_agent.backend.types import BlockDevice, BootMode

DATA = Path(__file__).parent / "data"

DMI = {
    "sys_vendor": "Dell Inc.",
    "product_name": "PowerEdge R650",
    "product_serial": "7XK2Q93",
    "board_vendor": "Dell Inc.",
    "board_name": "0H2R4P",
    "board_serial": "To Be Filled By O.E.M.",
    "bios_vendor": "Dell Inc.",
    "bios_version": "1.9.2",
    "bios_date": "04/12/2023",
}

TWO_SOCKETS_HT = "\n\n".join(
    f"processor\t: {n}\nmodel name\t: Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz\n"
    f"physical id\t: {n // 4}\ncore id\t\t: {(n % 4) // 2}\n"
    for n in range(8)
)


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def machine_tree(root: Path, *, efi: bool = False, secure_boot: bytes | None = None) -> None:
    write(root, "proc/cpuinfo", (DATA / "cpuinfo-2vcpu.txt").read_text())
    write(root, "proc/meminfo", (DATA / "meminfo-24g.txt").read_text())
    for name, value in DMI.items():
        write(root, f"sys/class/dmi/id/{name}", value + "\n")
    for name, mac, carrier in [("eno1", "b4:96:91:aa:00:01", "1"), ("eno2", "b4:96:91:aa:00:02", "0")]:
        write(root, f"sys/class/net/{name}/address", mac + "\n")
        write(root, f"sys/class/net/{name}/carrier", carrier + "\n")
        write(root, f"sys/class/net/{name}/speed", "25000\n" if carrier == "1" else "-1\n")
        (root / "sys/bus/pci/drivers/ice").mkdir(parents=True, exist_ok=True)
        (root / f"sys/devices/pci/{name}").mkdir(parents=True)
        os.symlink(root / "sys/bus/pci/drivers/ice", root / f"sys/devices/pci/{name}/driver")
        os.symlink(root / f"sys/devices/pci/{name}", root / f"sys/class/net/{name}/device")
    write(root, "sys/class/net/lo/address", "00:00:00:00:00:00\n")
    if efi:
        (root / "sys/firmware/efi/efivars").mkdir(parents=True)
        if secure_boot is not None:
            (root / "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e5f0a3f4b0b2").write_bytes(
                secure_boot
            )


async def no_disks() -> tuple[BlockDevice, ...]:
    return ()


def test_parsers_on_captured_proc_files() -> None:
    cpu = parse_cpuinfo((DATA / "cpuinfo-2vcpu.txt").read_text())
    assert (cpu.model, cpu.cores, cpu.threads, cpu.sockets) == ("AMD EPYC", 2, 2, 1)
    assert parse_meminfo((DATA / "meminfo-24g.txt").read_text()) == 24684084 // 1024


def test_cpuinfo_counts_sockets_cores_and_threads() -> None:
    cpu = parse_cpuinfo(TWO_SOCKETS_HT)
    assert (cpu.sockets, cpu.cores, cpu.threads) == (2, 4, 8)
    assert cpu.model.startswith("Intel(R) Xeon(R) Gold 6338")


@pytest.mark.parametrize("text", ["", "MemFree: 10 kB\n", "MemTotal: lots\n"])
def test_meminfo_without_a_total_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="MemTotal"):
        parse_meminfo(text)


def test_inventory_reads_dmi_nics_and_bios_mode(tmp_path: Path) -> None:
    machine_tree(tmp_path)
    inv = asyncio.run(LinuxInventory(tmp_path, no_disks).inventory())
    assert inv.dmi.manufacturer == "Dell Inc."
    assert inv.dmi.product == "PowerEdge R650"
    assert inv.dmi.serial == "7XK2Q93"
    assert inv.dmi.baseboard_serial is None  # an OEM placeholder is no serial
    assert inv.dmi.bios_version == "1.9.2"
    assert [(n.name, n.mac, n.link, n.speed_mbps, n.driver) for n in inv.nics] == [
        ("eno1", "b4:96:91:aa:00:01", True, 25000, "ice"),
        ("eno2", "b4:96:91:aa:00:02", False, None, "ice"),
    ]
    assert inv.boot_mode is BootMode.BIOS
    assert inv.secure_boot is None
    assert inv.memory_mib == 24684084 // 1024


@pytest.mark.parametrize(
    ("raw", "expected"), [(b"\x06\x00\x00\x00\x01", True), (b"\x06\x00\x00\x00\x00", False)]
)
def test_uefi_secure_boot_state(tmp_path: Path, raw: bytes, expected: bool) -> None:
    machine_tree(tmp_path, efi=True, secure_boot=raw)
    inv = LinuxInventory(tmp_path, no_disks)
    assert inv.boot_mode() is BootMode.UEFI
    assert inv.secure_boot() is expected


def test_missing_proc_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="proc is not mounted"):
        asyncio.run(LinuxInventory(tmp_path, no_disks).inventory())
