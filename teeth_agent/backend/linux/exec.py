"""The one place the agent starts a subprocess.

`run()` takes an argv list (never a shell string), runs it with a deadline, and returns a `Result`. Every
failure becomes `teeth_agent.backend.errors.ToolError`: a missing binary, a timeout, a non-zero exit (when
`check`). A cancelled or timed-out tool is terminated, given a moment to exit, killed if it lingers, and
reaped, so no erase or format keeps running behind a cancelled task. Tools run in their own session so the
signal also reaches any children they start.

`Runner` is the seam the Linux backend's modules take; `SubprocessRunner` is the real one and
`FakeRunner` a table-driven stand-in for tests, so tests never execute reboot, poweroff or `kexec -e`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.linux.required_tools import REQUIRED_TOOLS

# How long a terminated tool gets to exit before it is killed.
TERMINATE_GRACE = 2.0


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str
    returncode: int


class Runner(Protocol):
    async def run(
        self, argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
    ) -> Result: ...


def _tool_env() -> dict[str, str]:
    # The C locale keeps tool output in the form the parsers expect.
    return {**os.environ, "LC_ALL": "C", "LANG": "C"}


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Terminate, wait briefly, kill, reap. Shielded so a second cancel cannot leave a zombie."""
    if proc.returncode is not None:
        return
    _signal_group(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), TERMINATE_GRACE)
    except TimeoutError:
        _signal_group(proc, signal.SIGKILL)
        await proc.wait()


def _missing_tool(argv: Sequence[str]) -> ToolError:
    package = REQUIRED_TOOLS.get(os.path.basename(argv[0]))
    hint = f" (install the Debian package {package!r})" if package else ""
    return ToolError(list(argv), None, f"{argv[0]}: command not found{hint}")


# A `timeout` parameter (not an outer asyncio.timeout scope) because the deadline is part of how a tool is
# run: on expiry it is stopped and reported as a ToolError naming the tool.
async def run(
    argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
) -> Result:
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"argv must be a non-empty list of str, got {argv!r}")
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            # stdin is always a pipe (closed at once when there is no input): tools then never need
            # /dev/null, which a private /dev in tests does not have.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_tool_env(),
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise _missing_tool(argv) from exc
    except OSError as exc:
        raise ToolError(list(argv), None, f"cannot start: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(input), timeout)
    except TimeoutError as exc:
        await asyncio.shield(_stop(proc))
        raise ToolError(list(argv), None, f"timed out after {timeout:g}s") from exc
    except BaseException:
        await asyncio.shield(_stop(proc))
        raise
    returncode = proc.returncode if proc.returncode is not None else -1
    result = Result(out.decode(errors="replace"), err.decode(errors="replace"), returncode)
    if check and returncode != 0:
        raise ToolError(list(argv), returncode, result.stderr or result.stdout)
    return result


class SubprocessRunner:
    """The real Runner."""

    async def run(
        self, argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
    ) -> Result:
        return await run(argv, timeout=timeout, input=input, check=check)


# A canned answer: a fixed Result, or a function of (argv, input) for answers that depend on the call.
Handler = Callable[[tuple[str, ...], bytes | None], Result]
Answer = Result | Handler


@dataclass
class FakeRunner:
    """A Runner answering from a table of argv prefixes; the longest matching prefix wins.

    Every call is recorded in `calls`. An argv no entry matches raises `LookupError` naming it, so a test
    notices a command it did not expect instead of silently "succeeding". `check` behaves as in `run()`.
    """

    table: Mapping[tuple[str, ...], Answer]
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def _lookup(self, argv: tuple[str, ...]) -> Answer:
        matches = [p for p in self.table if argv[: len(p)] == p]
        if not matches:
            raise LookupError(f"FakeRunner has no answer for {list(argv)}")
        return self.table[max(matches, key=len)]

    async def run(
        self, argv: Sequence[str], *, timeout: float, input: bytes | None = None, check: bool = True  # noqa: ASYNC109
    ) -> Result:
        key = tuple(argv)
        self.calls.append(key)
        answer = self._lookup(key)
        result = answer if isinstance(answer, Result) else answer(key, input)
        if check and result.returncode != 0:
            raise ToolError(list(argv), result.returncode, result.stderr or result.stdout)
        return result


def ok(stdout: str = "", stderr: str = "") -> Result:
    """A successful Result, for FakeRunner tables."""
    return Result(stdout, stderr, 0)


def failed(returncode: int = 1, stderr: str = "") -> Result:
    """A failed Result, for FakeRunner tables."""
    return Result("", stderr, returncode)
