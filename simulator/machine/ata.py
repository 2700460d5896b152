"""The ATA security feature set of one simulated SATA drive, as a state machine.

States (ATA8-ACS): SEC1 disabled, SEC4 enabled+locked, SEC5 enabled+unlocked, and "frozen" on top of
any of them (SECURITY FREEZE LOCK, normally issued by the BIOS at boot). Rules modelled:
- frozen: set-pass, unlock, disable and erase are all aborted (the kernel reports an I/O error);
- locked: only unlock and erase are accepted; five wrong passwords expire the attempt counter, after which
  unlock is aborted until a power cycle;
- erase needs security enabled (a password set) and the right password; it takes the drive's own time
  estimate, then leaves the drive zeroed with security disabled;
- a power cycle (reboot) locks a drive whose password is set and resets the attempt counter.
Refusals raise backend errors whose message is what `hdparm` prints, never a Python traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.machine.profile_disks import AtaSpec
from teeth_agent.backend.errors import DeviceStateError, ToolError, Unsupported
from teeth_agent.backend.types import AtaSecurity

MAX_ATTEMPTS = 5


@dataclass
class AtaDrive:
    spec: AtaSpec
    path: str
    frozen: bool = False
    password: str | None = None
    locked: bool = False
    attempts: int = 0

    @classmethod
    def from_spec(cls, spec: AtaSpec, path: str, *, frozen: bool) -> AtaDrive:
        return cls(spec, path, frozen=frozen or spec.frozen, password=spec.password,
                   locked=spec.password is not None)

    @property
    def count_expired(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    def state(self) -> AtaSecurity:
        return AtaSecurity(
            supported=self.spec.supported,
            enabled=self.password is not None,
            locked=self.locked,
            frozen=self.frozen,
            count_expired=self.count_expired,
            enhanced_erase_supported=self.spec.enhanced_erase,
            erase_minutes=self.spec.erase_minutes,
            enhanced_erase_minutes=self.spec.enhanced_erase_minutes if self.spec.enhanced_erase else None,
        )

    def _refuse(self, command: str, argv: list[str]) -> ToolError:
        return ToolError(["hdparm", *argv, self.path], 5, f"{command}: Input/output error\n")

    def _precheck(self, command: str, argv: list[str]) -> None:
        if not self.spec.supported:
            raise Unsupported(f"{self.path}: drive does not support the ATA security feature set")
        if self.frozen:
            raise DeviceStateError(f"{command}: Input/output error ({self.path}: security frozen)")

    def set_password(self, password: str) -> None:
        argv = ["--user-master", "u", "--security-set-pass", password]
        self._precheck("SECURITY_SET_PASS", argv)
        if self.locked:
            raise DeviceStateError(f"SECURITY_SET_PASS: Input/output error ({self.path}: security locked)")
        self.password = password

    def _check_password(self, command: str, argv: list[str], password: str) -> None:
        if self.count_expired:
            raise DeviceStateError(
                f"{command}: Input/output error ({self.path}: security count expired; power-cycle the drive)")
        if password != self.password:
            self.attempts += 1
            raise self._refuse(command, argv)

    def unlock(self, password: str) -> None:
        argv = ["--user-master", "u", "--security-unlock", password]
        self._precheck("SECURITY_UNLOCK", argv)
        if self.password is None:
            raise self._refuse("SECURITY_UNLOCK", argv)
        self._check_password("SECURITY_UNLOCK", argv, password)
        self.locked = False
        self.attempts = 0

    def disable(self, password: str) -> None:
        argv = ["--user-master", "u", "--security-disable", password]
        self._precheck("SECURITY_DISABLE", argv)
        if self.password is None:
            raise self._refuse("SECURITY_DISABLE", argv)
        if self.locked:
            raise DeviceStateError(f"SECURITY_DISABLE: Input/output error ({self.path}: security locked)")
        self._check_password("SECURITY_DISABLE", argv, password)
        self.password = None
        self.attempts = 0

    def begin_erase(self, password: str, *, enhanced: bool) -> float:
        """Validate an erase; return its duration in (simulated) seconds. Call finish_erase() after it."""
        option = "--security-erase-enhanced" if enhanced else "--security-erase"
        argv = ["--user-master", "u", option, password]
        self._precheck("SECURITY_ERASE", argv)
        if enhanced and not self.spec.enhanced_erase:
            raise Unsupported(f"{self.path}: drive does not support enhanced security erase")
        if self.password is None:
            raise self._refuse("SECURITY_ERASE", argv)
        self._check_password("SECURITY_ERASE", argv, password)
        minutes = self.spec.enhanced_erase_minutes if enhanced else self.spec.erase_minutes
        return float((minutes or self.spec.erase_minutes) * 60)

    def finish_erase(self) -> None:
        self.password = None
        self.locked = False
        self.attempts = 0

    def power_cycle(self, *, frozen_by_bios: bool) -> None:
        self.locked = self.password is not None
        self.attempts = 0
        self.frozen = frozen_by_bios or self.spec.frozen
