"""ATA security erase as a checked procedure: set-pass -> re-read -> erase -> re-read.

Return values and exit codes are never trusted (some controllers return 0 for a command they aborted):
every step is confirmed by re-reading the drive's security state. If any step fails — or the task is
cancelled — the drive is put back unlocked with security disabled, and that too is confirmed by re-reading;
the error says whether it worked. A drive must never leave the agent locked with a password nobody knows.

The temporary password is the fixed, documented TEMP_PASSWORD, so that an operator can recover a drive
even if the agent dies mid-erase (hdparm --security-disable teeth-erase /dev/sdX).
"""

from __future__ import annotations

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import BackendError, DeviceStateError, Unsupported
from teeth_agent.backend.types import AtaSecurity

TEMP_PASSWORD = "teeth-erase"


class AtaEraseFailed(DeviceStateError):
    """A step of the procedure failed; `restored` says whether the drive was left unlocked and disabled."""

    def __init__(
        self, step: str, cause: BaseException, final: AtaSecurity | None, password: str = "temporary"
    ) -> None:
        self.step = step
        self.cause = cause
        self.restored = final is not None and not final.locked and not final.enabled
        if self.restored:
            state = "drive left unlocked with security disabled"
        elif final is None:
            state = "drive security state could not be re-read"
        else:
            state = f"drive left locked={final.locked} enabled={final.enabled} ({password} password)"
        super().__init__(f"ATA {step} failed: {cause}; {state}")


async def read_security(backend: Backend, path: str) -> AtaSecurity:
    sec = await backend.ata_security(path)
    if sec is None or not sec.supported:
        raise Unsupported(f"{path}: drive does not report the ATA security feature set")
    return sec


async def restore(backend: Backend, path: str, password: str, *, attempts: int = 2) -> AtaSecurity | None:
    """Unlock and disable security, re-reading after each step; never raises. Returns the final state.

    Every failed unlock counts against the drive's attempt limit (5 per power cycle), so a password that
    may be wrong gets one attempt."""
    for _ in range(attempts):
        try:
            sec = await read_security(backend, path)
            if sec.locked:
                await backend.ata_unlock(path, password)
                sec = await read_security(backend, path)
            if sec.enabled and not sec.locked:
                await backend.ata_disable_password(path, password)
            sec = await read_security(backend, path)
        except BackendError:
            continue
        if not sec.locked and not sec.enabled:
            return sec
    try:
        return await read_security(backend, path)
    except BackendError:
        return None


async def release_password(backend: Backend, path: str, password: str) -> None:
    """A drive arrived with a user password we were given: unlock it and disable security, checked."""
    final = await restore(backend, path, password, attempts=1)
    if final is None or final.locked or final.enabled:
        cause = DeviceStateError("the drive did not accept it")
        raise AtaEraseFailed("unlock/disable with the given ata_password", cause, final, "its own user")


def _precheck(sec: AtaSecurity) -> None:
    if sec.frozen:
        raise DeviceStateError("drive is frozen")
    if sec.count_expired:
        raise DeviceStateError("security attempt counter expired")
    if sec.locked or sec.enabled:
        raise DeviceStateError("a user password is already set")


async def ata_secure_erase(backend: Backend, path: str, *, enhanced: bool, progress: Progress) -> None:
    """Erase with a temporary password; raises AtaEraseFailed (drive restored when possible)."""
    _precheck(await read_security(backend, path))
    step = "set-password"
    try:
        await backend.ata_set_password(path, TEMP_PASSWORD)
        sec = await read_security(backend, path)
        if not sec.enabled or sec.locked:
            raise DeviceStateError("re-read shows security not enabled after set-password")
        step = "enhanced security erase" if enhanced else "security erase"
        await backend.ata_erase(path, TEMP_PASSWORD, enhanced=enhanced, progress=progress)
        sec = await read_security(backend, path)
        if sec.enabled or sec.locked:
            raise DeviceStateError("re-read shows security still enabled: the erase did not complete")
    except BaseException as exc:
        final = await restore(backend, path, TEMP_PASSWORD)
        if isinstance(exc, BackendError):
            raise AtaEraseFailed(step, exc, final, f"temporary {TEMP_PASSWORD!r}") from exc
        raise
