"""`teeth-sim conformance`: passes against our endpoint, and each deliberately wrong endpoint is caught."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from minimal_endpoint import MinimalEndpoint

from simulator.conformance.checks import Ctx
from simulator.conformance.command import run_checks

SIM = [sys.executable, "-m", "simulator.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_our_endpoint_passes_every_check(tmp_path: Path) -> None:
    port = _free_port()
    endpoint = subprocess.Popen([sys.executable, "-m", "teeth_endpoint.cli", "serve", "--listen",
                                 f"tcp://127.0.0.1:{port}", "--control", str(tmp_path / "ctl.sock"),
                                 "--heartbeat-interval", "2", "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        # The endpoint takes a moment to listen; conformance's own connect failures would say so.
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert endpoint.poll() is None, endpoint.stderr.read() if endpoint.stderr else ""
            time.sleep(0.05)
        r = subprocess.run([*SIM, "conformance", "--endpoint", f"tcp://127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=120)
    finally:
        endpoint.terminate()
        endpoint.wait(timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout and "13/13 checks passed" in r.stdout


async def test_an_independent_minimal_endpoint_passes() -> None:
    ep = MinimalEndpoint()
    url = await ep.start()
    try:
        results = await run_checks(Ctx(url, timeout=10.0))
    finally:
        await ep.close()
    assert [(n, d) for n, ok, d in results if not ok] == []


@pytest.mark.parametrize(("broken", "failing"), [
    ("every_violation_silent", {"violation: command before handshake", "violation: not JSON",
                                "violation: unsupported version", "violation: response to no pending id",
                                "violation: neither command nor response"}),
    ("unknown_method_fatal", {"unknown method is an error, not fatal"}),
    ("duplicate_status_error", {"task_status ack + seq dedupe"}),
    ("no_ping_echo", {"ping agent->endpoint"}),
])
async def test_a_wrong_endpoint_fails_the_check_it_breaks(broken: str, failing: set[str]) -> None:
    ep = MinimalEndpoint(broken=broken)
    url = await ep.start()
    try:
        results = await run_checks(Ctx(url, timeout=10.0))
    finally:
        await ep.close()
    assert {n for n, ok, _ in results if not ok} == failing
    details = {n: d for n, _, d in results}
    if broken == "every_violation_silent":
        assert "without sending fatal_error" in details["violation: not JSON"]


async def test_the_command_exits_non_zero_naming_the_failed_check() -> None:
    ep = MinimalEndpoint(broken="duplicate_status_error")
    url = await ep.start()
    try:
        proc = await asyncio.create_subprocess_exec(*SIM, "conformance", "--endpoint", url,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
    finally:
        await ep.close()
    assert proc.returncode == 1
    assert "FAIL  task_status ack + seq dedupe" in out.decode()
    assert "failed: task_status ack + seq dedupe" in err.decode()


async def test_nothing_listening_fails_every_check_with_the_reason() -> None:
    results = await run_checks(Ctx(f"tcp://127.0.0.1:{_free_port()}", timeout=5.0), only=["handshake"])
    assert results and not results[0][1] and "could not talk to the endpoint" in results[0][2]
