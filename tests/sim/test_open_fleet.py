"""`teeth-sim fleet` against an endpoint that is not ours, driven from outside like a developer would."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from minimal_endpoint import MinimalEndpoint

from simulator.openfleet.control import ask_all

WAIT = 60.0  # generous: the machine is shared; nothing here measures time


def _sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator.cli", *args]


async def _until(ep: MinimalEndpoint, pred: object) -> None:
    async with asyncio.timeout(WAIT):
        while not pred():  # type: ignore[operator]
            ep.changed.clear()
            await ep.changed.wait()


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*_sim(*args), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_fleet_against_a_minimal_endpoint_with_live_faults(tmp_path: Path) -> None:
    ep = MinimalEndpoint()
    url = await ep.start()
    control = tmp_path / "ctl"
    state = tmp_path / "state"
    proc = await asyncio.create_subprocess_exec(
        *_sim("fleet", "--endpoint", url, "--machines", "3", "--profile", "vm", "--state-dir", str(state),
              "--plain", "--control-dir", str(control)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await _until(ep, lambda: len(ep.answered()) == 3)
        answered = ep.answered()
        assert len({s.agent_id for s in answered.values()}) == 3
        assert all(s.ping == {"hello": 1} and s.status and s.status["agent_id"] == a
                   for a, s in answered.items())
        assert sorted(p.name for p in state.iterdir()) == ["m00000", "m00001", "m00002"]
        assert control.stat().st_mode & 0o777 == 0o700

        rc, out, _ = await _run("machines", "--control-dir", str(control))
        assert rc == 0 and "m00002" in out and "3 machines" in out

        # Power loss: the same machine comes back with the same id and a new boot id.
        victim = next(iter(answered.values()))
        before = len(ep.handshakes)
        rc, out, _ = await _run("fault", victim.agent_id, "power_loss", "--control-dir", str(control))
        assert rc == 0, out
        await _until(ep, lambda: any(s.agent_id == victim.agent_id and s.boot_id != victim.boot_id
                                     for s in ep.handshakes[before:]))

        rc, out, _ = await _run("fault", "1", "lying_disk", "vda", "--control-dir", str(control))
        assert rc == 0 and "lying_disk(vda)" in out
        rc, _, err = await _run("fault", "1", "lying_disk", "nodisk", "--control-dir", str(control))
        assert rc == 1 and "no disk 'nodisk'" in err
        rc, _, err = await _run("fault", "m00009", "power_loss", "--control-dir", str(control))
        assert rc == 1 and "no running machine" in err
        listed = await ask_all(control, {"op": "machines"})
        m1 = next(m for a in listed for m in a["result"] if m["machine"] == "m00001")
        assert m1["faults"] == ["lying_disk(vda)"]

        before = len(ep.handshakes)
        rc, _, _ = await _run("fault", "0", "drop_link", "--control-dir", str(control))
        assert rc == 0
        await _until(ep, lambda: any(s.agent_id.startswith("sim-00000") for s in ep.handshakes[before:]))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await proc.communicate()
        await ep.close()
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in out
    assert not list(control.glob("*.sock"))


def test_fleet_rejects_bad_options_naming_them(tmp_path: Path) -> None:
    bad = tmp_path / "tokens"
    bad.write_text("only-one-token\n")
    r = subprocess.run(_sim("fleet", "--endpoint", "tcp://127.0.0.1:1", "--machines", "2", "--tokens-file",
                            str(bad)), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "one per machine" in r.stderr
    r = subprocess.run(_sim("fleet", "--endpoint", "nonsense://x", "--machines", "2"), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--endpoint" in r.stderr
    r = subprocess.run(_sim("fleet", "--endpoint", "tcp://127.0.0.1:1", "--machines", "1", "--profile",
                            "no-such-profile"), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no-such-profile" in r.stderr


def test_control_dir_open_to_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    r = subprocess.run(_sim("machines", "--control-dir", str(shared)), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "0700" in r.stderr
