"""`teeth-endpoint serve` and `teeth-ctl` as real processes, with a scripted agent over tcp://127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from fakeagent import FakeAgent

from teeth_agent.connection import CommandFailed
from teeth_endpoint.cli import main as endpoint_main


async def ctl(control: Path, *argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "teeth_endpoint.ctl", "--control", str(control), *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_serve_with_a_token_then_drive_it_with_ctl(tmp_path: Path) -> None:
    token_file, control = tmp_path / "token", tmp_path / "ctl.sock"
    token_file.write_text("s3cret\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "teeth_endpoint.cli", "serve", "--listen", "tcp://127.0.0.1:0",
        "--token-file", str(token_file), "--control", str(control),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        url = ""
        while not url:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "teeth-endpoint exited early"
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].strip()
        while "control socket" not in (await asyncio.wait_for(proc.stderr.readline(), 30)).decode():
            pass
        with pytest.raises(CommandFailed, match="unauthorized"):
            await FakeAgent("intruder").connect(url, token="guess")
        conn, runner, _ = await FakeAgent("node-1").connect(url, token="s3cret")
        code, out, _ = await ctl(control, "agents")
        assert code == 0 and "node-1" in out and "intruder" not in out
        code, out, _ = await ctl(control, "call", "node-1", "status")
        assert code == 0 and json.loads(out)["agent_id"] == "node-1"
        await conn.close()
        await runner
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert not control.exists()


def test_serve_refuses_an_empty_token_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "token").write_text("  \n")
    argv = ["serve", "--listen", "tcp://127.0.0.1:0", "--token-file", str(tmp_path / "token")]
    assert endpoint_main([*argv, "--control", str(tmp_path / "c.sock")]) == 2
    assert "empty" in capsys.readouterr().err


def test_serve_refuses_half_a_tls_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["serve", "--listen", "tls://127.0.0.1:0", "--tls-cert", "c.pem", "--control", str(tmp_path / "c")]
    assert endpoint_main(argv) == 2
    assert "--tls-key" in capsys.readouterr().err
