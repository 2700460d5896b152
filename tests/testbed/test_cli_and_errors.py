"""What users see when things are missing or wrong: the CLI and the connection errors.

The CLI runs in a subprocess: libvirt lets a process open only one embedded root in its life, and
this test process's belongs to the session fixture.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from testbed.hypervisor import HypervisorError, connect

pytestmark = pytest.mark.testbed
REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "testbed.cli", "--root", str(root), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)


def test_an_unreachable_libvirt_daemon_is_a_clear_error() -> None:
    uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
    with pytest.raises(HypervisorError) as info, connect(uri=uri):
        pass
    assert f"could not open libvirt connection {uri}" in str(info.value)


def test_connect_wants_exactly_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"), connect():
        pass


def test_cli_status_and_down_on_an_empty_testbed(tmp_path: Path) -> None:
    root = tmp_path / "tb"
    status = cli("status", root=root)
    assert status.returncode == 0, status.stderr
    assert "no testbed VMs are running" in status.stdout
    down = cli("down", root=root)
    assert down.returncode == 0, down.stderr
    assert not root.exists()


def test_cli_refuses_unknown_scenarios(tmp_path: Path) -> None:
    result = cli("run", "no-such-scenario", root=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
