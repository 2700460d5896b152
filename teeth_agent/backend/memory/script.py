"""Scripting a MemoryBackend: one handler function sees every operation and may change its fate.

The model is httpx's MockTransport: the test passes a plain function, not patches. The backend calls
`handler(call)` once the request itself is valid (the disk exists, the drive is not frozen, the password
matches) and before the hardware acts. The handler may

- return None: the hardware does exactly what the operation says;
- raise a BackendError (DeviceIOError, Unsupported, ...): the operation fails and changes nothing;
- return SILENT: the operation reports success and does nothing (the controller that returns 0 for an
  aborted command);
- return LIE: the operation reports progress and success, and its state changes happen (an ATA erase
  still clears the password), but the data stays as it was (a drive that claims an erase it did not do);
- return FailAfter(fraction, error): a whole-disk operation does that fraction of its work, then fails.

A handler may also change the machine through `call.disk` or close over the clock and advance it (a slow
read). For queries (list_disks, refresh_disk, read_at, ...) only raising means anything.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.memory.machine import MemoryDisk


class Reaction(enum.Enum):
    SILENT = "silent"
    LIE = "lie"


SILENT = Reaction.SILENT
LIE = Reaction.LIE


@dataclass(frozen=True)
class FailAfter:
    fraction: float
    error: BackendError

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), got {self.fraction!r}")


@dataclass(frozen=True)
class Call:
    """One operation as the hardware receives it. `target` is a disk path or a firmware component id."""

    op: str
    target: str = ""
    disk: MemoryDisk | None = field(default=None, compare=False)
    args: Mapping[str, Any] = field(default_factory=dict, compare=False)


Outcome = Reaction | FailAfter | None
Handler = Callable[[Call], Outcome]


def honest(call: Call) -> Outcome:
    """The default handler: every operation does what it says."""
    return None


def chain(*handlers: Handler) -> Handler:
    """Ask each handler in turn; the first one with an opinion decides."""

    def handler(call: Call) -> Outcome:
        for h in handlers:
            outcome = h(call)
            if outcome is not None:
                return outcome
        return None

    return handler
