"""NVMe erase behaviour of one simulated controller/namespace: format (SES 0/1/2), FNA, sanitize.

Format with SES=0 only re-formats (data is *not* guaranteed gone; the model leaves old data in place, as
many drives do); SES=1 erases user data; SES=2 erases the media encryption key (needs crypto-erase support).
FNA bit 0 (`format_all_namespaces`) / bit 1 (`crypto_all_namespaces`) make the operation apply to every
namespace of the controller. Sanitize runs in the background and reports progress through the sanitize log
(SPROG in 1/65536ths, SSTAT); an unsupported action is aborted like nvme-cli shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.machine.profile_disks import NvmeSpec
from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.types import NvmeCaps, SanitizeCaps

INVALID_FIELD = (
    "NVMe status: INVALID_FIELD: A reserved coded value or an unsupported value in a defined field(0x4002)"
)
INVALID_OPCODE = "NVMe status: INVALID_OPCODE: The associated command opcode field is not valid(0x4001)"

SSTAT_NEVER = 0
SSTAT_SUCCESS = 1
SSTAT_IN_PROGRESS = 2
SSTAT_FAILED = 3


@dataclass
class SanitizeLog:
    """`nvme sanitize-log`: progress of the most recent sanitize."""

    sprog: int = 65535
    sstat: int = SSTAT_NEVER
    action: str | None = None
    history: list[tuple[float, int]] = field(default_factory=list)  # (sim time, sprog) samples

    def update(self, now: float, fraction: float) -> None:
        self.sprog = min(65535, int(fraction * 65536)) if fraction < 1 else 65535
        self.history.append((now, self.sprog))


@dataclass
class NvmeNamespace:
    spec: NvmeSpec
    path: str
    controller: str
    sanitize_log: SanitizeLog = field(default_factory=SanitizeLog)

    def caps(self) -> NvmeCaps:
        s = self.spec
        return NvmeCaps(
            format_supported=True,
            crypto_erase_supported=s.crypto_erase,
            format_applies_to_all_namespaces=s.format_all_namespaces,
            crypto_erase_applies_to_all_namespaces=s.crypto_all_namespaces,
            sanitize=SanitizeCaps(crypto="crypto" in s.sanitize, block="block" in s.sanitize,
                                  overwrite="overwrite" in s.sanitize),
        )

    def plan_format(self, ses: int) -> tuple[float, bool]:
        """Validate a format; return (simulated seconds, whether it applies to all namespaces)."""
        argv = ["nvme", "format", self.path, f"--ses={ses}", "--force"]
        if ses not in (0, 1, 2) or (ses == 2 and not self.spec.crypto_erase):
            raise ToolError(argv, 1, INVALID_FIELD + "\n")
        if ses == 2:
            return self.spec.crypto_seconds, self.spec.crypto_all_namespaces
        return self.spec.format_seconds, self.spec.format_all_namespaces

    def plan_sanitize(self, action: str) -> float:
        argv = ["nvme", "sanitize", self.path, f"--sanact={action}"]
        if not self.spec.sanitize:
            raise ToolError(argv, 1, INVALID_OPCODE + "\n")
        if action not in self.spec.sanitize:
            raise ToolError(argv, 1, INVALID_FIELD + "\n")
        if self.sanitize_log.sstat == SSTAT_IN_PROGRESS:
            raise ToolError(argv, 1, "NVMe status: SANITIZE_IN_PROGRESS: The requested function is "
                            "prohibited while a sanitize operation is in progress(0x1d)\n")
        self.sanitize_log = SanitizeLog(sprog=0, sstat=SSTAT_IN_PROGRESS, action=action)
        return self.spec.crypto_seconds if action == "crypto" else self.spec.sanitize_seconds
