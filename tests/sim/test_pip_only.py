"""The laptop path: an unprivileged user, a fresh venv, only the `sim` extra, `teeth-sim demo` works.

As root (CI runs `make test` as root) the test builds the project's wheel from a copy of the source and
fetches the `sim` extra's wheels (pip's cache keeps it quick); then, as `nobody`, with no index at all,
it makes a venv, installs `teeth-agent[sim]` from those wheels and runs a small demo.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "teeth_agent", "teeth_endpoint", "simulator", "testbed")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                                reason="runs the laptop path as `nobody`: needs root and runuser")


@pytest.fixture
def work() -> Iterator[Path]:
    # Not under pytest's tmp_path: its parents are 0700 root, which `nobody` cannot traverse.
    path = Path(tempfile.mkdtemp(prefix="teeth-pip-only-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_nobody(work: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = ["env", "-i", f"HOME={work / 'home'}", "PATH=/usr/bin:/bin", "PIP_NO_CACHE_DIR=1",
           "PIP_CONFIG_FILE=/dev/null"]
    return subprocess.run(["runuser", "-u", "nobody", "--", *env, *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=work)


def _python_for_nobody() -> str:
    """An interpreter `nobody` can run: ours if its directory is readable by all, else the system's."""
    for candidate in (getattr(sys, "_base_executable", sys.executable), "/usr/bin/python3"):
        path = Path(candidate)
        if all(os.stat(p).st_mode & 0o005 == 0o005 for p in path.resolve().parents) and path.exists():
            return candidate
    pytest.fail("no Python interpreter that an unprivileged user may run")


def test_sim_extra_alone_runs_the_demo_as_an_ordinary_user(work: Path) -> None:
    src, wheels, home = work / "src", work / "wheels", work / "home"
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                        if (ROOT / name).is_dir() else {}))
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(src)], check=True, timeout=600)
    subprocess.run([*pip, "download", "-d", str(wheels), "rich>=13"], check=True, timeout=600)
    home.mkdir()
    for p in (wheels, home):
        shutil.chown(p, "nobody")
    os.chmod(wheels, 0o755)

    python = _python_for_nobody()
    venv = home / "venv"
    r = _as_nobody(work, python, "-m", "venv", str(venv))
    assert r.returncode == 0, r.stderr
    r = _as_nobody(work, str(venv / "bin/pip"), "install", "-q", "--no-index", "--find-links", str(wheels),
                   "teeth-agent[sim]")
    assert r.returncode == 0, r.stderr
    r = _as_nobody(work, str(venv / "bin/pip"), "list", "--format=freeze")
    installed = {line.split("==")[0].lower() for line in r.stdout.split()}
    assert "teeth-agent" in installed and "rich" in installed
    assert not installed & {"libvirt-python", "diskimage-builder", "pytest", "zstandard"}

    report = home / "report.json"
    r = _as_nobody(work, str(venv / "bin/teeth-sim"), "demo", "--machines", "3", "--plain",
                   "--timeout", "300", "--report", str(report))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert '"machines": 3' in report.read_text()
