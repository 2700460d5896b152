"""ATA security feature set through hdparm: set password, unlock, disable, (enhanced) security erase.

Every step re-reads the drive's state with `hdparm -I` afterwards and checks the transition really
happened: exit codes are not trusted, because some controllers (QEMU's AHCI among them) answer 0 for a
security command they never carried out.
"""

from __future__ import annotations

from teeth_agent.backend.api import Clock, Progress
from teeth_agent.backend.errors import DeviceStateError, ToolError, Unsupported, VerificationFailed
from teeth_agent.backend.linux.allowlist import DeviceGuard
from teeth_agent.backend.linux.ata import parse_hdparm_identify
from teeth_agent.backend.linux.drive_progress import with_estimate
from teeth_agent.backend.linux.exec import Result, Runner
from teeth_agent.backend.types import AtaSecurity

TOOL_TIMEOUT = 60.0
# Without the drive's own estimate, an erase may take this long before it is declared hung.
UNKNOWN_ERASE_SECONDS = 24 * 3600.0


def _expect(path: str, step: str, ok: bool, state: AtaSecurity | None, tool: str) -> None:
    if not ok:
        raise VerificationFailed(f"{path}: after {step} ({tool}) the drive reports {state}")


def _said(result: Result, password: str) -> str:
    """hdparm's exit code and last stderr line, for error messages. Never stdout: hdparm echoes the
    password there; and the password is masked should a message ever repeat it."""
    last = (result.stderr.strip().splitlines() or [""])[-1]
    if password:
        last = last.replace(password, "***")
    return f"hdparm exit {result.returncode}: {last!r}"


class AtaOps:
    def __init__(self, runner: Runner, guard: DeviceGuard, clock: Clock) -> None:
        self._runner = runner
        self._guard = guard
        self._clock = clock

    async def security(self, path: str) -> AtaSecurity | None:
        device = self._guard.check(path)
        result = await self._runner.run(["hdparm", "-I", device], timeout=TOOL_TIMEOUT, check=False)
        return parse_hdparm_identify(result.stdout)

    async def _require(self, path: str) -> AtaSecurity:
        state = await self.security(path)
        if state is None or not state.supported:
            raise Unsupported(f"{path} does not support the ATA security feature set")
        return state

    async def _hdparm(self, path: str, flag: str, password: str, limit: float = TOOL_TIMEOUT) -> str:
        # check=False: the outcome is judged by re-reading the state, not by the exit code.
        try:
            result = await self._runner.run(["hdparm", "--user-master", "u", flag, password, path],
                                            timeout=limit, check=False)
        except ToolError as exc:  # a timeout or a missing hdparm: re-raised without the password
            masked = ["***" if arg == password else arg for arg in exc.argv]
            raise ToolError(masked, exc.returncode, exc.stderr.replace(password, "***")) from None
        return _said(result, password)

    async def set_password(self, path: str, password: str) -> None:
        state = await self._require(path)
        if state.frozen:
            raise DeviceStateError(f"{path} is frozen: security commands are refused until a power cycle")
        if state.locked:
            raise DeviceStateError(f"{path} is locked: unlock it before setting a password")
        tool = await self._hdparm(self._guard.check(path), "--security-set-pass", password)
        after = await self.security(path)
        _expect(path, "security-set-pass", after is not None and after.enabled, after, tool)

    async def unlock(self, path: str, password: str) -> None:
        state = await self._require(path)
        if state.count_expired:
            raise DeviceStateError(f"{path}: unlock attempt count expired; it needs a power cycle")
        if not state.locked:
            return
        tool = await self._hdparm(self._guard.check(path), "--security-unlock", password)
        after = await self.security(path)
        _expect(path, "security-unlock", after is not None and not after.locked, after, tool)

    async def disable_password(self, path: str, password: str) -> None:
        state = await self._require(path)
        if not state.enabled:
            return
        if state.frozen:
            raise DeviceStateError(f"{path} is frozen: cannot disable its password until a power cycle")
        tool = await self._hdparm(self._guard.check(path), "--security-disable", password)
        after = await self.security(path)
        _expect(path, "security-disable", after is not None and not after.enabled, after, tool)

    async def erase(self, path: str, password: str, *, enhanced: bool, progress: Progress) -> None:
        state = await self._require(path)
        if enhanced and not state.enhanced_erase_supported:
            raise Unsupported(f"{path} does not support ENHANCED SECURITY ERASE UNIT")
        if state.frozen or state.count_expired:
            raise DeviceStateError(f"{path} is {'frozen' if state.frozen else 'past its attempt count'}")
        if not state.enabled:
            raise DeviceStateError(f"{path} has no password set; SECURITY ERASE UNIT needs one")
        minutes = state.enhanced_erase_minutes if enhanced else state.erase_minutes
        estimate = minutes * 60.0 if minutes else None
        # hdparm blocks until the drive finishes; allow twice its estimate before declaring it hung.
        limit = 2 * estimate + 600 if estimate else UNKNOWN_ERASE_SECONDS
        flag = "--security-erase-enhanced" if enhanced else "--security-erase"
        work = self._hdparm(self._guard.check(path), flag, password, limit=limit)
        tool = await with_estimate(work, clock=self._clock, estimate=estimate, progress=progress)
        after = await self.security(path)
        # A completed SECURITY ERASE UNIT leaves the drive with security disabled (ATA8-ACS SEC1).
        _expect(path, flag.lstrip("-"), after is not None and not after.enabled, after, tool)
