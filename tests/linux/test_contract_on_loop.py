"""The Backend contract suite (tests/contract) run against the real Linux backend on a loop device.

The suite runs in a child pytest under `unshare --mount`, from a copy of tests/contract whose only
provider is tests/linux/contract_linux.py, so the Linux backend sees a /dev holding nothing but the loop
device. The copy keeps the contract's own files untouched; the provider can join tests/contract/backends/
as is (it skips itself outside such a namespace).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from linux_loops import NEEDS_ROOT, Loop

pytestmark = NEEDS_ROOT

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONTRACT = REPO / "tests" / "contract"


def contract_copy(into: Path) -> Path:
    suite = into / "contract"
    (suite / "backends").mkdir(parents=True)
    for source in CONTRACT.glob("*.py"):
        shutil.copy(source, suite / source.name)
    shutil.copy(HERE / "contract_linux.py", suite / "backends" / "linux.py")
    return suite


@pytest.mark.skipif(not (CONTRACT / "test_backend_contract.py").exists(), reason="no contract suite")
def test_linux_backend_meets_the_contract(tmp_path: Path, make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(128 << 20)
    major, minor = loop.node
    suite = contract_copy(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "TEETH_CONTRACT_LOOP": f"{loop.dev}:{major}:{minor}",
           "TEETH_CONTRACT_HOST_MNTNS": os.readlink("/proc/self/ns/mnt")}
    run = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", sys.executable, "-m", "pytest", "-q",
         "-p", "no:cacheprovider", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(suite), str(suite)],
        capture_output=True, text=True, timeout=900, cwd=suite, env=env)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "passed" in summary and "skipped" not in summary and "failed" not in summary, summary
