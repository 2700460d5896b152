"""Per-agent credentials: `teeth-ctl enroll` issues a token; an agent may claim only the id it names."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from fakeagent import FakeAgent
from procs import EndpointProc

from teeth_agent.connection import CommandFailed


async def ctl(ep: EndpointProc, *argv: str) -> tuple[int, str, str]:
    token_file = ep.dir / "api.token"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "teeth_endpoint.ctl", "--api", ep.api_url, "--api-token-file", str(token_file),
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_an_enrolled_agent_needs_its_own_token(tmp_path: Path) -> None:
    (tmp_path / "fleet.token").write_text("lab-fleet\n")
    ep = EndpointProc(tmp_path, "one", "--state-dir", str(tmp_path / "state"), api_token="api-s3cret",
                      extra=("--token-file", str(tmp_path / "fleet.token")))  # fmt: skip
    await ep.start()
    try:
        code, out, err = await ctl(ep, "enroll", "node-1")
        assert code == 0, err
        token = out.strip()
        assert len(token) >= 40
        assert token not in (tmp_path / "state" / "endpoint.sqlite3").read_bytes().decode("latin-1")

        with pytest.raises(CommandFailed, match="enrolled: its own credential is required"):
            await FakeAgent("node-1").connect(ep.agent_url, token="lab-fleet")
        with pytest.raises(CommandFailed, match="names another agent id"):
            await FakeAgent("node-2").connect(ep.agent_url, token=token)  # a forged id
        with pytest.raises(CommandFailed, match="missing or wrong"):
            await FakeAgent("node-3").connect(ep.agent_url, token="unknown")
        conn, run, _ = await FakeAgent("node-1").connect(ep.agent_url, token=token)
        # The shared fleet token still admits an agent that is not enrolled.
        lab, lab_run, _ = await FakeAgent("node-4").connect(ep.agent_url, token="lab-fleet")
        code, out, _ = await ctl(ep, "agents")
        assert code == 0 and "node-1" in out and "node-4" in out and "node-2" not in out
        code, out, _ = await ctl(ep, "call", "node-1", "status")
        assert code == 0 and '"agent_id": "node-1"' in out
        for c, r in ((conn, run), (lab, lab_run)):
            await c.close()
            await r
        assert any("claiming agent 'node-2' refused" in line and "127.0.0.1:" in line for line in ep.lines)

        code, out, _ = await ctl(ep, "enroll", "node-5", "--ttl", "0.001")
        await asyncio.sleep(0.01)  # past its expiry
        with pytest.raises(CommandFailed, match="expired"):
            await FakeAgent("node-5").connect(ep.agent_url, token=out.strip())
    finally:
        await ep.stop()
