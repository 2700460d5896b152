"""MemoryBackend: the whole Backend interface over a MemoryMachine table, scripted by one handler."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

from teeth_agent.backend.api import Backend, Clock, Progress, SanitizeAction, SettingValue
from teeth_agent.backend.errors import (
    DeviceIOError,
    DeviceNotFound,
    DeviceRefused,
    DeviceStateError,
    Unsupported,
)
from teeth_agent.backend.memory.clock import ManualClock
from teeth_agent.backend.memory.contents import NOISE
from teeth_agent.backend.memory.handle import MemoryHandle
from teeth_agent.backend.memory.machine import MemoryDisk, MemoryMachine
from teeth_agent.backend.memory.script import LIE, SILENT, Call, FailAfter, Handler, Outcome, honest
from teeth_agent.backend.types import (
    AtaSecurity,
    BlockDevice,
    BootloaderInstall,
    BootMode,
    FirmwareComponent,
    FirmwareUpdateOutcome,
    Inventory,
    KexecTarget,
)

STEPS = 4  # a whole-disk operation reports progress (and yields to other disks) this many times
SIGNATURE_SECTORS = 8  # wipe_signatures clears this many sectors at each end: MBR, both GPT headers


class MemoryBackend:
    """A Backend whose hardware is `machine`, whose time is `clock`, and whose quirks are `handler`.

    `calls` lists every operation that could change the machine, as (op, target) pairs, refused ones
    included; `busy` and `peak_busy` count whole-disk operations running at once.
    """

    def __init__(
        self,
        machine: MemoryMachine | None = None,
        *,
        handler: Handler = honest,
        clock: Clock | None = None,
    ) -> None:
        self.machine = machine if machine is not None else MemoryMachine()
        self.handler = handler
        self._clock: Clock = clock if clock is not None else ManualClock()
        self.calls: list[tuple[str, str]] = []
        self.busy = 0
        self.peak_busy = 0

    # -- the scripting seam ----------------------------------------------------------------------------

    def react(self, call: Call, *, log: bool = False) -> Outcome:
        """Record the call (when it could change the machine) and ask the handler how the hardware reacts."""
        if log:
            self.calls.append((call.op, call.target))
        return self.handler(call)

    @property
    def disks(self) -> dict[str, MemoryDisk]:
        return self.machine.disks

    def touched(self, target: str) -> bool:
        """Whether any operation that could change `target` was asked for."""
        return any(t == target for _, t in self.calls)

    def _disk(self, path: str) -> MemoryDisk:
        disk = self.machine.disks.get(path)
        if disk is None:
            raise DeviceNotFound(f"{path}: no such disk")
        return disk

    def _writable(self, path: str) -> MemoryDisk:
        disk = self._disk(path)
        if disk.device.read_only:
            raise DeviceRefused(f"{path}: the device is read-only")
        return disk

    async def _whole_disk(
        self,
        call: Call,
        progress: Progress,
        fill: int | None,
        *,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Run a whole-disk operation: STEPS slices of its duration on the clock, then its effect."""
        disk = call.disk
        assert disk is not None
        outcome = self.react(call, log=True)
        if outcome is SILENT:
            return
        size = disk.device.size
        self.busy += 1
        self.peak_busy = max(self.peak_busy, self.busy)
        try:
            for step in range(STEPS):
                if isinstance(outcome, FailAfter) and step / STEPS >= outcome.fraction:
                    disk.data.fill(0, size * step // STEPS, fill)
                    raise outcome.error
                await self._clock.sleep(disk.erase_seconds / STEPS)
                progress(size * (step + 1) // STEPS, size)
        finally:
            self.busy -= 1
        if outcome is not LIE:
            disk.data.fill(0, size, fill)
        if then is not None:
            then()

    # -- identity -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "memory"

    @property
    def clock(self) -> Clock:
        return self._clock

    async def boot_id(self) -> str:
        return f"memory-boot-{self.machine.boots}"

    # -- disks ----------------------------------------------------------------------------------------

    async def list_disks(self) -> tuple[BlockDevice, ...]:
        self.react(Call("list_disks"))
        return tuple(d.reported() for d in self.machine.disks.values())

    async def refresh_disk(self, path: str) -> BlockDevice:
        disk = self._disk(path)
        self.react(Call("refresh_disk", path, disk))
        return disk.reported()

    async def ata_security(self, path: str) -> AtaSecurity | None:
        disk = self._disk(path)
        self.react(Call("ata_security", path, disk))
        return disk.ata

    def _ata(self, path: str) -> tuple[MemoryDisk, AtaSecurity]:
        disk = self._writable(path)
        if disk.ata is None or not disk.ata.supported:
            raise Unsupported(f"{path}: no ATA security feature set")
        if disk.ata.frozen:
            raise DeviceStateError(f"{path}: security is frozen")
        return disk, disk.ata

    async def ata_set_password(self, path: str, password: str) -> None:
        disk, sec = self._ata(path)
        if sec.enabled:
            raise DeviceStateError(f"{path}: a password is already set")
        if self.react(Call("ata_set_password", path, disk), log=True) is SILENT:
            return
        disk.ata, disk.password = dataclasses.replace(sec, enabled=True), password

    async def ata_unlock(self, path: str, password: str) -> None:
        disk, sec = self._ata(path)
        outcome = self.react(Call("ata_unlock", path, disk), log=True)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if outcome is SILENT:
            return
        if password != disk.password:
            raise DeviceStateError(f"{path}: wrong password")
        disk.ata = dataclasses.replace(sec, locked=False)

    async def ata_disable_password(self, path: str, password: str) -> None:
        disk, sec = self._ata(path)
        outcome = self.react(Call("ata_disable_password", path, disk), log=True)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if outcome is SILENT:
            return
        if password != disk.password or sec.locked:
            raise DeviceStateError(f"{path}: wrong password, or the drive is locked")
        disk.ata, disk.password = dataclasses.replace(sec, enabled=False), None

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None:
        disk, sec = self._ata(path)
        if not sec.enabled or password != disk.password:
            raise DeviceStateError(f"{path}: security not enabled, or the wrong password")
        if enhanced and not sec.enhanced_erase_supported:
            raise Unsupported(f"{path}: no enhanced security erase")

        def erased() -> None:
            disk.ata = dataclasses.replace(sec, enabled=False, locked=False)
            disk.password = None

        call = Call("ata_erase", path, disk, {"enhanced": enhanced})
        await self._whole_disk(call, progress, 0, then=erased)

    async def nvme_format(self, path: str, *, ses: int, progress: Progress) -> None:
        disk = self._writable(path)
        caps = disk.device.nvme
        if caps is None or not caps.format_supported:
            raise Unsupported(f"{path}: no NVMe Format")
        if ses not in (0, 1, 2) or (ses == 2 and not caps.crypto_erase_supported):
            raise Unsupported(f"{path}: secure erase setting {ses} is not supported")
        call = Call("nvme_format", path, disk, {"ses": ses})
        await self._whole_disk(call, progress, NOISE if ses == 2 else 0)

    async def nvme_sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None:
        disk = self._writable(path)
        caps = disk.device.nvme
        if caps is None or not getattr(caps.sanitize, action):
            raise Unsupported(f"{path}: no {action} sanitize")
        call = Call("nvme_sanitize", path, disk, {"action": action})
        await self._whole_disk(call, progress, NOISE if action == "crypto" else 0)

    # -- block I/O ------------------------------------------------------------------------------------

    async def open_block(self, path: str, *, writable: bool) -> MemoryHandle:
        disk = self._writable(path) if writable else self._disk(path)
        self.react(Call("open_block", path, disk, {"writable": writable}))
        return MemoryHandle(self, disk, writable=writable)

    async def discard(self, path: str, *, secure: bool, progress: Progress) -> None:
        disk = self._writable(path)
        if not disk.device.discard_supported:
            raise Unsupported(f"{path}: the device does not support discard")
        call = Call("discard", path, disk, {"secure": secure})
        await self._whole_disk(call, progress, 0 if disk.device.discard_zeroes else NOISE)

    async def write_zeroes(self, path: str, *, progress: Progress) -> None:
        disk = self._writable(path)
        if not disk.device.write_zeroes_supported:
            raise Unsupported(f"{path}: the device does not support write-zeroes")
        await self._whole_disk(Call("write_zeroes", path, disk), progress, 0)

    async def overwrite(self, path: str, *, progress: Progress) -> None:
        disk = self._writable(path)
        await self._whole_disk(Call("overwrite", path, disk), progress, 0)

    async def wipe_signatures(self, path: str) -> tuple[str, ...]:
        disk = self._writable(path)
        found = disk.device.fs_signatures
        outcome = self.react(Call("wipe_signatures", path, disk), log=True)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if outcome is None:
            size, span = disk.device.size, SIGNATURE_SECTORS * disk.device.logical_sector_size
            disk.data.fill(0, min(span, size), 0)
            disk.data.fill(max(0, size - span), size, 0)
            disk.device = dataclasses.replace(disk.device, fs_signatures=())
        return found

    # -- inventory ------------------------------------------------------------------------------------

    async def inventory(self) -> Inventory:
        self.react(Call("inventory"))
        m = self.machine
        return Inventory(
            dmi=m.dmi,
            cpu=m.cpu,
            memory_mib=m.memory_mib,
            disks=tuple(d.reported() for d in m.disks.values()),
            nics=m.nics,
            boot_mode=m.boot_mode,
            secure_boot=m.firmware.secure_boot,
        )

    # -- firmware -------------------------------------------------------------------------------------

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        self.react(Call("firmware_components"))
        return tuple(self.machine.firmware.components.values())

    async def apply_firmware(
        self, component_id: str, image_path: str, *, progress: Progress
    ) -> FirmwareUpdateOutcome:
        fw = self.machine.firmware
        comp = fw.components.get(component_id)
        if comp is None:
            raise DeviceNotFound(f"{component_id}: no such firmware component")
        if not comp.updatable:
            raise Unsupported(comp.unsupported_reason or f"{component_id} cannot be updated")
        try:
            image = await asyncio.to_thread(Path(image_path).read_bytes)
        except OSError as exc:
            raise DeviceIOError(f"{component_id}: cannot read the image: {exc}") from exc
        outcome = self.react(Call("apply_firmware", component_id, None, {"image": image}), log=True)
        if outcome is SILENT:
            return FirmwareUpdateOutcome(component_id, applied=True, reboot_required=False)
        progress(1, 2)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        version = fw.image_version(image)
        if version is None:
            raise DeviceIOError(f"{component_id}: the component rejected the image")
        on_reboot = component_id in fw.applies_on_reboot
        if outcome is not LIE:
            if on_reboot:
                fw.pending_versions[component_id] = version
            else:
                fw.components[component_id] = dataclasses.replace(comp, version=version)
        progress(2, 2)
        return FirmwareUpdateOutcome(component_id, applied=True, reboot_required=on_reboot)

    async def bios_settings(self) -> Mapping[str, SettingValue]:
        self.react(Call("bios_settings"))
        return dict(self.machine.firmware.bios)

    async def apply_bios_settings(self, settings: Mapping[str, SettingValue]) -> bool:
        fw = self.machine.firmware
        outcome = self.react(
            Call("apply_bios_settings", "bios", None, {"settings": dict(settings)}), log=True
        )
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if outcome is not None:
            return fw.bios_applies_on_reboot
        if fw.bios_applies_on_reboot:
            fw.pending_bios.update(settings)
            return True
        fw.bios.update(settings)
        return False

    async def secure_boot(self) -> bool | None:
        self.react(Call("secure_boot"))
        return self.machine.firmware.secure_boot

    async def set_secure_boot(self, enabled: bool) -> bool:
        fw = self.machine.firmware
        if fw.secure_boot is None:
            raise Unsupported("Secure Boot state cannot be read or set on this machine")
        outcome = self.react(Call("set_secure_boot", "secure_boot", None, {"enabled": enabled}), log=True)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        if outcome is None:
            fw.secure_boot = enabled
        return True

    # -- boot -----------------------------------------------------------------------------------------

    async def boot_mode(self) -> BootMode:
        self.react(Call("boot_mode"))
        return self.machine.boot_mode

    def _act(self, op: str, target: str, disk: MemoryDisk | None = None) -> bool:
        """A boot operation: True when it should take effect."""
        outcome = self.react(Call(op, target, disk), log=True)
        if isinstance(outcome, FailAfter):
            raise outcome.error
        return outcome is None

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        d = self._writable(disk)
        if self._act("write_config_drive", disk, d):
            d.config_drive = dict(files)
        return f"{disk}p2" if disk[-1:].isdigit() else f"{disk}2"

    async def repair_backup_gpt(self, disk: str) -> bool:
        d = self._writable(disk)
        if not self._act("repair_backup_gpt", disk, d):
            return False
        sector, size = d.device.logical_sector_size, d.device.size
        primary = d.data.read(sector, sector)
        if primary[:8] != b"EFI PART" or d.data.read(size - sector, 8) == b"EFI PART":
            return False
        d.data.write(size - sector, primary)
        return True

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        d = self._writable(disk)
        install = BootloaderInstall(disk, mode, efi_entry="teeth" if mode is BootMode.UEFI else None)
        if self._act("install_bootloader", disk, d):
            self.machine.bootloaders.append(install)
        return install

    async def read_grub_config(self, disk: str) -> str | None:
        d = self._disk(disk)
        self.react(Call("read_grub_config", disk, d))
        return d.grub_cfg

    async def kexec_allowed(self) -> bool:
        self.react(Call("kexec_allowed"))
        return self.machine.kexec_allowed

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        d = self._disk(disk)
        if not self.machine.kexec_allowed:
            raise Unsupported("kexec is not allowed on this machine")
        if self._act("kexec_load", disk, d):
            self.machine.kexec_loaded = target

    async def kexec_exec(self) -> None:
        if self.machine.kexec_loaded is None:
            raise DeviceStateError("no kernel is loaded for kexec")
        if self._act("kexec_exec", ""):
            self.machine.kexec_loaded = None
            self.machine.boots += 1

    async def reboot(self) -> None:
        if self._act("reboot", ""):
            fw = self.machine.firmware
            for cid, version in fw.pending_versions.items():
                fw.components[cid] = dataclasses.replace(fw.components[cid], version=version)
            fw.bios.update(fw.pending_bios)
            fw.pending_versions.clear()
            fw.pending_bios.clear()
            self.machine.kexec_loaded = None
            self.machine.boots += 1

    async def power_off(self) -> None:
        if self._act("power_off", ""):
            self.machine.powered_on = False


def _conforms(backend: MemoryBackend) -> Backend:
    return backend  # mypy checks here that MemoryBackend is a Backend
