"""Disk discovery: lsblk for identity, then per transport what other tools know.

- every disk: signatures probed with blkid (disk and inside each partition), write-zeroes from sysfs;
- SATA/SAS/USB/other: ATA security from `hdparm -I`; when hdparm shows none, `smartctl -g security`
  tells a bridge that hides the security commands (it sees them, hdparm cannot use them) from a drive
  without them; a USB bridge is always treated as hiding them;
- NVMe: erase abilities from `nvme id-ctrl`.
Loop devices are listed only when the allowlist names them: on a real machine they are the ramdisk's own.
"""

from __future__ import annotations

import dataclasses

from teeth_agent.backend.errors import DeviceNotFound, ToolError
from teeth_agent.backend.linux import signature_probe as probe
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.ata import (
    parse_hdparm_firmware,
    parse_hdparm_identify,
    parse_smartctl_security,
)
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.lsblk import LsblkDisk, parse_lsblk_tree
from teeth_agent.backend.linux.nvme import parse_id_ctrl, parse_id_ctrl_firmware
from teeth_agent.backend.linux.sysfs import nvme_namespace_count, queue_attr
from teeth_agent.backend.types import BlockDevice, Transport

TOOL_TIMEOUT = 60.0
_ATA_TRANSPORTS = frozenset({Transport.SATA, Transport.SAS, Transport.USB, Transport.OTHER})


class DiskLister:
    def __init__(self, runner: Runner, guard: DeviceGuard) -> None:
        self._runner = runner
        self._guard = guard

    async def _lsblk(self, paths: list[str]) -> tuple[LsblkDisk, ...]:
        result = await self._runner.run(["lsblk", "-J", "-O", "-b", *paths], timeout=TOOL_TIMEOUT)
        return parse_lsblk_tree(result.stdout)

    def _visible(self, disk: LsblkDisk) -> bool:
        if not self._guard.allows(disk.device.path):
            return False
        return disk.kind != "loop" or self._guard.restricted

    async def list_disks(self) -> tuple[BlockDevice, ...]:
        # With an allowlist lsblk is asked about those devices only, so nothing else is even opened.
        named = list(self._guard.present())
        if self._guard.restricted and not named:
            return ()
        listed = await self._lsblk(named)
        return tuple([await self._enrich(d) for d in listed if self._visible(d)])

    async def refresh_disk(self, path: str) -> BlockDevice:
        device = self._guard.check(path)
        for disk in await self._lsblk([device]):
            if disk.device.path == device and self._visible(disk):
                return await self._enrich(disk)
        raise DeviceNotFound(f"{path} is not a whole disk this backend may touch")

    async def _enrich(self, disk: LsblkDisk) -> BlockDevice:
        device = disk.device
        signatures = tuple(dict.fromkeys(device.fs_signatures + await probe.signatures(self._runner,
                                                                                       device.path)))
        device = dataclasses.replace(
            device,
            fs_signatures=signatures,
            raid_member=device.raid_member or any(s.endswith("_raid_member") for s in signatures),
            is_boot_medium=bool(disk.mountpoints),
            write_zeroes_supported=queue_attr(device.path, "write_zeroes_max_bytes") > 0,
        )
        if device.transport is Transport.NVME:
            return await self._with_nvme(device)
        if device.transport in _ATA_TRANSPORTS:
            return await self._with_ata(device)
        return device

    async def _with_ata(self, device: BlockDevice) -> BlockDevice:
        result = await self._runner.run(["hdparm", "-I", device.path], timeout=TOOL_TIMEOUT, check=False)
        security = parse_hdparm_identify(result.stdout)
        firmware = parse_hdparm_firmware(result.stdout) or device.firmware_version
        hidden = False
        if security is None:
            smart = await self._runner.run(["smartctl", "-g", "security", device.path], timeout=TOOL_TIMEOUT,
                                           check=False)
            hidden = device.transport is Transport.USB or _smartctl_sees_security(smart.stdout)
        return dataclasses.replace(device, ata_security=security, ata_security_hidden_by_bridge=hidden,
                                   firmware_version=firmware)

    async def _with_nvme(self, device: BlockDevice) -> BlockDevice:
        # One controller that will not identify itself must not hide every other disk: its abilities
        # stay unknown (nvme=None), which leaves it only the methods that need none.
        try:
            result = await self._runner.run(["nvme", "id-ctrl", "-o", "json", device.path],
                                            timeout=TOOL_TIMEOUT)
            caps, firmware = parse_id_ctrl(result.stdout), parse_id_ctrl_firmware(result.stdout)
        except (ToolError, ValueError):
            return device
        caps = dataclasses.replace(caps, namespace_count=nvme_namespace_count(device.path))
        return dataclasses.replace(device, nvme=caps, firmware_version=firmware or device.firmware_version)


def _smartctl_sees_security(text: str) -> bool:
    try:
        return parse_smartctl_security(text) is not None
    except ValueError:
        return True  # a state smartctl reports but we cannot read: do not trust the ATA path either
