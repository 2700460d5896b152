"""A VM's serial console, written by QEMU to a file, and bounded waits for text to appear in it.

Every wait has a deadline, stops early when the VM is gone, and fails with a message that names what
was awaited, the console log's path and its last lines: a boot that goes wrong is diagnosed from the
test report alone.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.25
TAIL_LINES = 25


class ConsoleWaitError(AssertionError):
    """The awaited text never appeared (timeout, or the VM stopped first)."""


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class Console:
    path: Path

    def read(self, start: int = 0) -> str:
        """Console text from byte offset start on ('' before QEMU has created the file)."""
        try:
            with self.path.open("rb") as f:
                f.seek(start)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """The current end of the log: pass it as `start` to wait only for text written after now."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _check(self, pattern: re.Pattern[str], start: int) -> re.Match[str] | None:
        return pattern.search(self.read(start))

    def _failure(self, what: str, pattern: re.Pattern[str], why: str, start: int) -> ConsoleWaitError:
        return ConsoleWaitError(
            f"{what}: {pattern.pattern!r} did not appear on the console ({why}); "
            f"console log: {self.path}\n--- last lines ---\n{tail(self.read(start))}")

    def wait_for(self, pattern: str | re.Pattern[str], *, within: float, what: str, start: int = 0,
                 alive: Callable[[], bool] | None = None) -> re.Match[str]:
        """Block until pattern appears after offset start; alive() False means the VM has stopped."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + within
        while (match := self._poll(rx, start, alive, time.monotonic() >= deadline, what, within)) is None:
            time.sleep(POLL_S)
        return match

    async def await_for(self, pattern: str | re.Pattern[str], *, within: float, what: str, start: int = 0,
                        alive: Callable[[], bool] | None = None) -> re.Match[str]:
        """wait_for for asyncio code (the endpoint runs in the same loop)."""
        rx = re.compile(pattern)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        # Polling: the console is a file QEMU appends to, and nothing signals a write to it.
        while True:
            if (match := self._poll(rx, start, alive, loop.time() >= deadline, what, within)) is not None:
                return match
            await asyncio.sleep(POLL_S)

    def _poll(self, rx: re.Pattern[str], start: int, alive: Callable[[], bool] | None, expired: bool,
              what: str, within: float) -> re.Match[str] | None:
        """One look: the match, or None to look again; a stopped VM or an expired wait raises."""
        # Whether the VM runs is read before the log, so output written just before it stopped is seen.
        running = alive() if alive else True
        if match := self._check(rx, start):
            return match
        if not running:
            raise self._failure(what, rx, "the VM stopped", start)
        if expired:
            raise self._failure(what, rx, f"waited {within:.0f} s", start)
        return None
