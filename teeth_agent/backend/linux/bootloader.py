"""Linux boot: the config drive, grub from the ramdisk's own trusted packages, kexec, reboot, power off."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from teeth_agent.backend.errors import DeviceStateError, Unsupported
from teeth_agent.backend.linux import configdrive
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.efi_cleanup import remove_stale_entries
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.image_fs import (
    GRUB_CONFIGS,
    find_in_partitions,
    kernel_candidates,
    reread_table,
    reread_table_if_any,
)
from teeth_agent.backend.linux.lockdown import needs_signed_kexec, read_lockdown
from teeth_agent.backend.linux.mounts import mounted
from teeth_agent.backend.linux.partitions import BIOS_BOOT_TYPE, ESP_MBR_TYPE, ESP_TYPE
from teeth_agent.backend.types import BootloaderInstall, BootMode, KexecTarget

GRUB_TIMEOUT = 300.0
TOOL_TIMEOUT = 120.0
EFI_LOADER = "\\EFI\\BOOT\\BOOTX64.EFI"


class LinuxBoot:
    def __init__(self, runner: Runner, guard: DeviceGuard, root: Path = Path("/")) -> None:
        self._runner = runner
        self._guard = guard
        self._root = root

    async def boot_mode(self) -> BootMode:
        return BootMode.UEFI if (self._root / "sys/firmware/efi").is_dir() else BootMode.BIOS

    async def _size(self, disk: str) -> tuple[int, int]:
        sector = await self._runner.run(["blockdev", "--getss", disk], timeout=TOOL_TIMEOUT)
        size = await self._runner.run(["blockdev", "--getsize64", disk], timeout=TOOL_TIMEOUT)
        return int(sector.stdout.strip()), int(size.stdout.strip())

    async def write_config_drive(self, disk: str, files: Mapping[str, bytes]) -> str:
        disk = self._guard.check(disk)
        sector, size = await self._size(disk)
        return await configdrive.write_config_drive(
            self._runner, disk, files, sector_size=sector, disk_size=size
        )

    async def repair_backup_gpt(self, disk: str) -> bool:
        disk = self._guard.check(disk)
        table = await reread_table_if_any(self._runner, disk)
        if table is None or table.label != "gpt":
            return False
        await self._runner.run(["sgdisk", "--move-second-header", disk], timeout=TOOL_TIMEOUT)
        return True

    async def read_grub_config(self, disk: str) -> str | None:
        disk = self._guard.check(disk)
        table = await reread_table_if_any(self._runner, disk)
        found = None if table is None else await find_in_partitions(self._runner, table, GRUB_CONFIGS)
        if found is None:
            return None
        part, relative = found
        async with mounted(self._runner, part.node) as where:
            return (where / relative).read_text(errors="replace")

    async def install_bootloader(self, disk: str, mode: BootMode) -> BootloaderInstall:
        disk = self._guard.check(disk)
        table = await reread_table(self._runner, disk)
        found = await find_in_partitions(self._runner, table, GRUB_CONFIGS)
        if found is None:
            raise DeviceStateError(f"the image on {disk} has no grub.cfg; cannot install grub for it")
        part, relative = found
        async with mounted(self._runner, part.node, writable=True) as where:
            # The directory that holds grub/ is grub's boot directory, wherever the image keeps it.
            boot_dir = where / relative.rsplit("/", 2)[0] if relative.count("/") >= 2 else where
            if mode is BootMode.BIOS:
                if table.label == "gpt" and not any(p.type == BIOS_BOOT_TYPE for p in table.partitions):
                    raise DeviceStateError(
                        f"BIOS boot from the GPT image on {disk} needs a BIOS boot partition for grub's "
                        "core image; the image has none"
                    )
                await self._runner.run(
                    ["grub-install", "--target=i386-pc", f"--boot-directory={boot_dir}", disk],
                    timeout=GRUB_TIMEOUT,
                )
                return BootloaderInstall(disk=disk, mode=mode)
            esp = next((p for p in table.partitions if p.type in (ESP_TYPE, ESP_MBR_TYPE)), None)
            if esp is None:
                raise DeviceStateError(
                    f"UEFI boot needs an EFI system partition; the image on {disk} has none"
                )
            async with mounted(self._runner, esp.node, writable=True) as efi_dir:
                await self._runner.run(
                    [
                        "grub-install",
                        "--target=x86_64-efi",
                        f"--efi-directory={efi_dir}",
                        f"--boot-directory={boot_dir}",
                        "--removable",
                        "--no-nvram",
                        disk,
                    ],
                    timeout=GRUB_TIMEOUT,
                )
        await self._runner.run(
            [
                "efibootmgr",
                "--create",
                "--disk",
                disk,
                "--part",
                str(esp.number),
                "--label",
                "tenant",
                "--loader",
                EFI_LOADER,
            ],
            timeout=TOOL_TIMEOUT,
        )
        # A stale entry first in BootOrder (or a firmware that falls back through the list) would boot
        # an earlier tenant's loader, or a disk that now holds someone else's data.
        removed = await remove_stale_entries(self._runner, keep_label="tenant")
        return BootloaderInstall(disk=disk, mode=mode, efi_entry="tenant", removed_entries=removed)

    async def kexec_allowed(self) -> bool:
        try:
            disabled = (self._root / "proc/sys/kernel/kexec_load_disabled").read_text().strip()
        except OSError:
            return False
        return disabled == "0"

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        disk = self._guard.check(disk)
        if not await self.kexec_allowed():
            raise Unsupported("the running kernel does not allow kexec (kexec_load_disabled)")
        table = await reread_table(self._runner, disk)
        found = await find_in_partitions(self._runner, table, kernel_candidates(target.kernel))
        if found is None:
            raise DeviceStateError(f"kernel {target.kernel} is not on any partition of {disk}")
        part, kernel = found
        async with mounted(self._runner, part.node) as where:
            # Under lockdown (Secure Boot) only kexec_file_load works, and it checks the kernel's signature.
            signed = ["--kexec-file-syscall"] if needs_signed_kexec(read_lockdown(self._root)) else []
            argv = ["kexec", *signed, "--load", str(where / kernel), f"--command-line={target.cmdline}"]
            if target.initrd:
                initrd = next((c for c in kernel_candidates(target.initrd) if (where / c).is_file()), None)
                if initrd is None:
                    raise DeviceStateError(f"initrd {target.initrd} is not beside the kernel on {part.node}")
                argv.append(f"--initrd={where / initrd}")
            await self._runner.run(argv, timeout=TOOL_TIMEOUT)

    async def kexec_exec(self) -> None:
        await self._runner.run(["kexec", "--exec"], timeout=TOOL_TIMEOUT)

    async def reboot(self) -> None:
        await self._runner.run(["systemctl", "--force", "reboot"], timeout=TOOL_TIMEOUT)

    async def power_off(self) -> None:
        await self._runner.run(["systemctl", "--force", "poweroff"], timeout=TOOL_TIMEOUT)
