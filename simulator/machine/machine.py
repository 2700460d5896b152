"""`SimMachine`: one simulated server built from a profile and a seed.

Identity (serials, MACs, DMI UUID, boot ids) derives deterministically from (profile, seed, serial), so
the same seed replays the same fleet. Boot state: which OS runs (the ramdisk or a tenant), the boot id,
the staged kexec kernel and the installed bootloaders. Listeners (the fleet runner) hear of every boot.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from simulator.machine.disk import SimDisk
from simulator.machine.faults import Fault, for_disk
from simulator.machine.firmware_model import FirmwareState
from simulator.machine.profile import MachineProfile
from simulator.machine.profile_disks import DiskSpec
from teeth_agent.backend.errors import DeviceNotFound
from teeth_agent.backend.types import BootMode, Cpu, DmiInfo, Inventory, KexecTarget, Nic


@dataclass(frozen=True)
class RunningOs:
    """What the machine is running: the agent's ramdisk, or a tenant booted from `disk`."""

    kind: str  # "ramdisk" | "tenant" | "off"
    via: str  # "power-on" | "reboot" | "kexec" | "power-off"
    disk: str | None = None
    image: str | None = None
    kernel: str | None = None
    cmdline: str | None = None
    instance_uuid: str | None = None


BootListener = Callable[["SimMachine", RunningOs], None]


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


class SimMachine:
    def __init__(self, profile: MachineProfile, *, seed: int = 0, serial: str | None = None,
                 faults: tuple[Fault, ...] = ()) -> None:
        self.profile = profile
        self.seed = seed
        self.serial = serial or "SIM" + _digest(profile.name, str(seed)).hex()[:10].upper()
        self.faults = profile.faults + faults
        self._rng = random.Random(_digest(self.serial, str(seed)))
        self.disks: dict[str, SimDisk] = {}
        for spec in profile.disks:
            spec = self._identify(spec)
            disk = SimDisk.build(spec, for_disk(self.faults, spec.name, spec.serial))
            self.disks[disk.path] = disk
        failing = {f.component for f in self.faults if f.kind == "flash_fail" and f.component}
        self.firmware = FirmwareState.from_profile(profile, failing)
        self.boot_id = self._new_boot_id()
        self.running = RunningOs("ramdisk", "power-on")
        self.kexec_loaded: tuple[str, KexecTarget] | None = None
        self.bootloaders: dict[str, BootMode] = {}
        self.listeners: list[BootListener] = []

    def _identify(self, spec: DiskSpec) -> DiskSpec:
        h = _digest(self.serial, spec.name)
        serial = spec.serial or h.hex()[:12].upper()
        wwn = spec.wwn
        if wwn is None and spec.transport == "nvme":
            wwn = "eui." + h.hex()[12:28]
        elif wwn is None and spec.transport != "virtio":
            wwn = "0x5000c500" + h.hex()[12:19]
        return replace(spec, serial=serial, wwn=wwn)

    def _new_boot_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def disk(self, path_or_serial: str) -> SimDisk:
        found = self.disks.get(path_or_serial) or self.disks.get("/dev/" + path_or_serial)
        if found is None:
            found = next((d for d in self.disks.values() if d.spec.serial == path_or_serial), None)
        if found is None:
            raise DeviceNotFound(f"{path_or_serial}: No such file or directory")
        return found

    def nics(self) -> tuple[Nic, ...]:
        out = []
        for spec in self.profile.nics:
            mac = spec.mac or "52:54:00:" + ":".join(f"{b:02x}" for b in _digest(self.serial, spec.name)[:3])
            version = self.firmware.versions.get(spec.name, spec.firmware_version)
            out.append(Nic(spec.name, mac, spec.link, spec.speed_mbps, spec.driver, version))
        return tuple(out)

    def dmi(self) -> DmiInfo:
        d = self.profile.dmi
        bios_version = self.firmware.versions.get("bios", d.get("bios_version"))
        return DmiInfo(
            manufacturer=d.get("manufacturer"), product=d.get("product"), serial=self.serial,
            uuid=d.get("uuid") or str(uuid.UUID(bytes=_digest(self.serial, "dmi")[:16], version=4)),
            baseboard_manufacturer=d.get("baseboard_manufacturer"),
            baseboard_product=d.get("baseboard_product"),
            baseboard_serial=d.get("baseboard_serial") or "BB" + self.serial,
            bios_vendor=d.get("bios_vendor"), bios_version=bios_version, bios_date=d.get("bios_date"),
        )

    def inventory(self) -> Inventory:
        c = self.profile.cpu
        return Inventory(
            dmi=self.dmi(),
            cpu=Cpu(c["model"], c["cores"], c["threads"], c["sockets"], c["architecture"]),
            memory_mib=self.profile.memory_mib,
            disks=tuple(d.device() for d in self.disks.values()),
            nics=self.nics(),
            boot_mode=BootMode(self.profile.boot_mode),
            secure_boot=self.firmware.secure_boot,
        )

    # Boot transitions -------------------------------------------------------------------------------

    def _booted(self, running: RunningOs) -> None:
        self.running = running
        self.boot_id = self._new_boot_id()
        self.kexec_loaded = None
        for listener in list(self.listeners):
            listener(self, running)

    def kexec(self, running: RunningOs) -> None:
        """kexec -e: a new kernel without a reset (firmware staged for reboot stays staged)."""
        self._booted(running)

    def reboot(self, tenant: RunningOs | None) -> None:
        """A reset: staged firmware applies, drives power-cycle, the BIOS boots `tenant` or PXE (ramdisk)."""
        changed = self.firmware.on_reboot()
        for disk in self.disks.values():
            if disk.ata is not None:
                disk.ata.power_cycle(frozen_by_bios=any(f.kind == "frozen" for f in disk.faults))
            for component, version in changed.items():
                if disk.spec.name.startswith(component):
                    disk.set_firmware_version(version)
        self._booted(tenant or RunningOs("ramdisk", "reboot"))

    def power_off(self) -> None:
        self.running = RunningOs("off", "power-off")
        for listener in list(self.listeners):
            listener(self, self.running)
