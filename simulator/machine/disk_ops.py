"""Disk enumeration, the ATA security commands and NVMe format/sanitize on a `SimMachine`."""

from __future__ import annotations

from simulator.machine.ata import AtaDrive
from simulator.machine.disk import SimDisk
from simulator.machine.extents import ZERO, Fill, pattern
from simulator.machine.machine import SimMachine
from simulator.machine.nvme import SSTAT_SUCCESS, NvmeNamespace, SanitizeLog
from simulator.machine.timing import run_timed
from teeth_agent.backend.api import Clock, Progress, SanitizeAction
from teeth_agent.backend.errors import ToolError, Unsupported
from teeth_agent.backend.types import AtaSecurity, BlockDevice

BRIDGE_ERROR = "SG_IO: bad/missing sense data, sb[]:  70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00\n"


def _crypto_garbage(disk: SimDisk, generation: int) -> Fill:
    """After a crypto erase, media decrypts with a new key: deterministic garbage, not zeroes."""
    return pattern(f"crypto/{disk.spec.serial}/{generation}")


class SimDisks:
    machine: SimMachine
    _clock: Clock
    _erase_generation: int

    async def list_disks(self) -> tuple[BlockDevice, ...]:
        return tuple(d.device() for d in self.machine.disks.values())

    async def refresh_disk(self, path: str) -> BlockDevice:
        return self.machine.disk(path).device()

    def _ata(self, path: str, option: str, *, quiet_through_bridge: bool = False) -> AtaDrive | None:
        disk = self.machine.disk(path)
        if disk.ata is None:
            raise Unsupported(f"{path}: not an ATA device (no security feature set)")
        if disk.spec.ata is not None and disk.spec.ata.hidden_by_bridge:
            if quiet_through_bridge:
                return None  # the bridge swallows the command and hdparm exits 0: callers must re-read
            raise ToolError(["hdparm", option, path], 5, BRIDGE_ERROR)
        return disk.ata

    async def ata_security(self, path: str) -> AtaSecurity | None:
        return self.machine.disk(path).device().ata_security

    async def ata_set_password(self, path: str, password: str) -> None:
        ata = self._ata(path, "--security-set-pass", quiet_through_bridge=True)
        if ata is not None:
            ata.set_password(password)

    async def ata_unlock(self, path: str, password: str) -> None:
        ata = self._ata(path, "--security-unlock")
        assert ata is not None
        ata.unlock(password)

    async def ata_disable_password(self, path: str, password: str) -> None:
        ata = self._ata(path, "--security-disable")
        assert ata is not None
        ata.disable(password)

    async def ata_erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None:
        option = "--security-erase-enhanced" if enhanced else "--security-erase"
        ata = self._ata(path, option)
        assert ata is not None
        seconds = ata.begin_erase(password, enhanced=enhanced)
        await run_timed(self._clock, seconds, progress)
        self.machine.disk(path).erase_to(ZERO)
        ata.finish_erase()

    def _nvme(self, path: str, argv: list[str]) -> NvmeNamespace:
        ns = self.machine.disk(path).nvme
        if ns is None:
            raise ToolError(argv, 1, f"{path}: Inappropriate ioctl for device\n")
        return ns

    def _namespaces(self, ns: NvmeNamespace, all_namespaces: bool) -> list[SimDisk]:
        def same(other: NvmeNamespace) -> bool:
            return other is ns or (all_namespaces and other.controller == ns.controller)

        return [d for d in self.machine.disks.values() if d.nvme is not None and same(d.nvme)]

    async def nvme_format(self, path: str, *, ses: int, progress: Progress) -> None:
        ns = self._nvme(path, ["nvme", "format", path, f"--ses={ses}"])
        seconds, all_namespaces = ns.plan_format(ses)
        await run_timed(self._clock, seconds, progress)
        self._erase_generation += 1
        for disk in self._namespaces(ns, all_namespaces):
            if ses == 1:
                disk.erase_to(ZERO)
            elif ses == 2:
                disk.erase_to(_crypto_garbage(disk, self._erase_generation))

    async def nvme_sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None:
        ns = self._nvme(path, ["nvme", "sanitize", path, f"--sanact={action}"])
        seconds = ns.plan_sanitize(action)
        log = ns.sanitize_log

        def step(fraction: float) -> None:
            log.update(self._clock.monotonic(), fraction)

        await run_timed(self._clock, seconds, progress, on_step=step)
        self._erase_generation += 1
        # Sanitize always applies to the whole NVM subsystem's namespaces on this controller.
        for disk in self._namespaces(ns, True):
            disk.erase_to(_crypto_garbage(disk, self._erase_generation) if action == "crypto" else ZERO)
        log.sstat = SSTAT_SUCCESS

    def sanitize_log(self, path: str) -> SanitizeLog:
        """`nvme sanitize-log`: an addition of the simulator (not in the Backend protocol)."""
        return self._nvme(path, ["nvme", "sanitize-log", path]).sanitize_log
