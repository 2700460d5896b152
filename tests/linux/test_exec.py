"""exec.run and FakeRunner through their public interface."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.linux.exec import FakeRunner, Result, SubprocessRunner, failed, ok, run


async def test_run_returns_output_and_code() -> None:
    result = await run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"],
                       timeout=30)
    assert result == Result("out\n", "err\n", 0)


async def test_run_feeds_input() -> None:
    result = await run([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
                       timeout=30, input=b"abc")
    assert result.stdout == "ABC\n"


async def test_nonzero_exit_raises_tool_error_with_stderr_tail() -> None:
    with pytest.raises(ToolError) as info:
        await run([sys.executable, "-c", "import sys; sys.exit('bad thing')"], timeout=30)
    assert info.value.returncode == 1
    assert "bad thing" in str(info.value)


async def test_nonzero_exit_without_check_returns_result() -> None:
    result = await run([sys.executable, "-c", "raise SystemExit(3)"], timeout=30, check=False)
    assert result.returncode == 3


async def test_missing_tool_names_package() -> None:
    with pytest.raises(ToolError) as info:
        await run(["/nonexistent/hdparm", "-I"], timeout=30)
    assert info.value.returncode is None
    assert "hdparm" in info.value.stderr


async def test_shell_string_is_refused() -> None:
    with pytest.raises(TypeError):
        await run("echo hi", timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


SLEEPER = "import os, sys, time; print(os.getpid(), flush=True); time.sleep(600)"
# Ignores SIGTERM, so only the kill after the grace period stops it.
STUBBORN = ("import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print(os.getpid(), flush=True); time.sleep(600)")


def _wait_for_pid(pidfile: Path) -> int:
    while not (pidfile.exists() and pidfile.read_text()):
        time.sleep(0.05)
    return int(pidfile.read_text())


async def _pid_of_child(tmp_path: Path, code: str) -> tuple[asyncio.Task[Result], int]:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(run([sys.executable, "-c", code.replace(
        "print(os.getpid(), flush=True)", f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))")],
        timeout=600))
    return task, await asyncio.to_thread(_wait_for_pid, pidfile)


@pytest.mark.parametrize("code", [SLEEPER, STUBBORN], ids=["polite", "stubborn"])
async def test_cancel_stops_and_reaps_the_tool(tmp_path: Path, code: str) -> None:
    task, pid = await _pid_of_child(tmp_path, code)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid)  # reaped: not even a zombie is left


async def test_timeout_stops_the_tool_and_raises_tool_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError) as info:
        await run([sys.executable, "-c", "import time; time.sleep(600)"], timeout=0.5)
    assert "timed out" in info.value.stderr


async def test_subprocess_runner_is_a_runner() -> None:
    result = await SubprocessRunner().run([sys.executable, "-c", "print(1)"], timeout=30)
    assert result.stdout == "1\n"


async def test_fake_runner_longest_prefix_wins_and_records_calls() -> None:
    fake = FakeRunner({("nvme",): ok("generic"), ("nvme", "id-ctrl"): ok("specific")})
    assert (await fake.run(["nvme", "id-ctrl", "/dev/nvme0"], timeout=1)).stdout == "specific"
    assert (await fake.run(["nvme", "list"], timeout=1)).stdout == "generic"
    assert fake.calls == [("nvme", "id-ctrl", "/dev/nvme0"), ("nvme", "list")]


async def test_fake_runner_function_answers_and_failures() -> None:
    fake = FakeRunner({
        ("cat",): lambda argv, data: ok((data or b"").decode()),
        ("false",): failed(1, "nope"),
    })
    assert (await fake.run(["cat"], timeout=1, input=b"x")).stdout == "x"
    with pytest.raises(ToolError):
        await fake.run(["false"], timeout=1)
    assert (await fake.run(["false"], timeout=1, check=False)).returncode == 1


async def test_fake_runner_unknown_command_is_loud() -> None:
    with pytest.raises(LookupError, match="reboot"):
        await FakeRunner({}).run(["reboot"], timeout=1)
