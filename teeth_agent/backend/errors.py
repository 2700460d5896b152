"""Backend errors: the one tree every backend raises, and flows catch.

BackendError
├── DeviceNotFound        the path or serial names no disk this backend may touch
├── DeviceRefused         a guard said no (read-only, RAID member, boot medium, outside the allowlist)
├── Unsupported           the device or machine cannot do this (no ATA security, no sanitize, no updater)
├── DeviceStateError      the device is in the wrong state (frozen, locked, attempt count expired)
├── DeviceIOError         an I/O error, with the offset when known
├── ToolError             an external tool failed; carries argv, exit code and stderr tail
└── VerificationFailed    the device claims success but re-reading shows otherwise

Foreign exceptions (OSError, subprocess failures, simulator model errors) are translated into this tree at
the backend boundary; the command registry turns it into wire errors.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base of every error a backend raises."""

    type = "backend_error"


class DeviceNotFound(BackendError):
    type = "not_found"


class DeviceRefused(BackendError):
    type = "device_refused"


class Unsupported(BackendError):
    type = "unsupported"


class DeviceStateError(BackendError):
    type = "device_state"


class DeviceIOError(BackendError):
    type = "io_error"

    def __init__(self, msg: str, *, offset: int | None = None) -> None:
        super().__init__(msg)
        self.offset = offset


class ToolError(BackendError):
    type = "tool_error"

    def __init__(self, argv: list[str] | tuple[str, ...], returncode: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr[-2000:]
        tail = self.stderr.strip().splitlines()[-1:] or [""]
        super().__init__(f"{self.argv[0]} exited {returncode}: {tail[0]}")


class VerificationFailed(BackendError):
    type = "verification_failed"
