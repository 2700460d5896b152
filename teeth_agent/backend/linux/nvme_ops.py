"""NVMe erase through nvme-cli: Format NVM with a secure erase setting, and Sanitize with log polling.

Abilities are checked against Identify Controller before anything is sent, so an unsupported request is
an `Unsupported` error rather than a controller status code. Sanitize runs in the background on the
controller; its progress and outcome come only from the Sanitize Status log, polled until it settles.
Sanitize acts on the whole NVM subsystem (every namespace), Format on the namespace unless FNA says all.
"""

from __future__ import annotations

from teeth_agent.backend.api import Clock, Progress, SanitizeAction
from teeth_agent.backend.errors import DeviceIOError, DeviceStateError, Unsupported, VerificationFailed
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.drive_progress import with_estimate
from teeth_agent.backend.linux.exec import Runner
from teeth_agent.backend.linux.nvme import (
    SanitizeLog,
    SanitizeState,
    parse_id_ctrl,
    parse_id_ns_lbaf,
    parse_sanitize_log,
)
from teeth_agent.backend.types import NvmeCaps

TOOL_TIMEOUT = 60.0
FORMAT_TIMEOUT = 4 * 3600.0
SANITIZE_DEADLINE = 24 * 3600.0
POLL_SECONDS = 2.0
_SANACT = {"block": "2", "overwrite": "3", "crypto": "4"}


class NvmeOps:
    def __init__(self, runner: Runner, guard: DeviceGuard, clock: Clock) -> None:
        self._runner = runner
        self._guard = guard
        self._clock = clock

    async def caps(self, path: str) -> NvmeCaps:
        device = self._guard.check(path)
        result = await self._runner.run(["nvme", "id-ctrl", "-o", "json", device], timeout=TOOL_TIMEOUT)
        return parse_id_ctrl(result.stdout)

    async def format(self, path: str, *, ses: int, progress: Progress) -> None:
        if ses not in (1, 2):
            raise ValueError(f"secure erase setting must be 1 (user data) or 2 (crypto), not {ses!r}")
        caps = await self.caps(path)
        if not caps.format_supported:
            raise Unsupported(f"{path}: controller does not support Format NVM")
        if ses == 2 and not caps.crypto_erase_supported:
            raise Unsupported(f"{path}: controller does not support cryptographic erase")
        device = self._guard.check(path)
        id_ns = await self._runner.run(["nvme", "id-ns", "-o", "json", device], timeout=TOOL_TIMEOUT)
        lbaf = parse_id_ns_lbaf(id_ns.stdout)  # keep the current LBA format: only erase, never reshape
        argv = ["nvme", "format", device, f"--ses={ses}", f"--lbaf={lbaf}", "--force",
                f"--timeout={int(FORMAT_TIMEOUT * 1000)}"]
        work = self._runner.run(argv, timeout=FORMAT_TIMEOUT + 60)
        await with_estimate(work, clock=self._clock, estimate=None, progress=progress)

    async def sanitize_log(self, path: str) -> SanitizeLog:
        device = self._guard.check(path)
        result = await self._runner.run(["nvme", "sanitize-log", "-o", "json", device], timeout=TOOL_TIMEOUT)
        return parse_sanitize_log(result.stdout)

    async def sanitize(self, path: str, *, action: SanitizeAction, progress: Progress) -> None:
        if action not in _SANACT:
            raise ValueError(f"sanitize action must be one of {sorted(_SANACT)}, not {action!r}")
        caps = await self.caps(path)
        if not getattr(caps.sanitize, action):
            raise Unsupported(f"{path}: controller does not support sanitize {action}")
        before = await self.sanitize_log(path)
        if before.state is SanitizeState.IN_PROGRESS:
            raise DeviceStateError(f"{path}: a sanitize is already in progress")
        device = self._guard.check(path)
        argv = ["nvme", "sanitize", device, f"--sanact={_SANACT[action]}"]
        await self._runner.run(argv, timeout=TOOL_TIMEOUT)
        final = await self._poll(path, action, progress)
        if final.state is SanitizeState.FAILED:
            raise DeviceIOError(f"{path}: sanitize {action} failed (sanitize log)")
        if not final.succeeded:
            raise VerificationFailed(f"{path}: sanitize log shows {final.state.name} after sanitize {action}")

    async def _poll(self, path: str, action: str, progress: Progress) -> SanitizeLog:
        start = self._clock.monotonic()
        while True:
            log = await self.sanitize_log(path)
            estimate = float(log.estimate_seconds.get(action) or 0)
            if log.state is not SanitizeState.IN_PROGRESS:
                progress(estimate or 1.0, estimate or 1.0)
                return log
            # SPROG scaled to the drive's own estimate when it gives one, so ETA follows the drive.
            progress(log.progress * (estimate or 1.0), estimate or 1.0)
            if self._clock.monotonic() - start > SANITIZE_DEADLINE:
                raise DeviceStateError(f"{path}: sanitize still running after {SANITIZE_DEADLINE:.0f}s")
            await self._clock.sleep(POLL_SECONDS)
