"""What users see when things are missing or wrong: the CLI and the connection errors.

The CLI runs in a subprocess: libvirt lets a process open only one embedded root in its life, and
this test process's belongs to the session fixture.
"""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testbed.harness import Layout
from testbed.hypervisor import HypervisorError, connect, dac_owner

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


def test_cli_shell_runs_a_command_and_passes_its_exit_status(
        tmp_path: Path, sh_behind_socket: Callable[[Path], Path]) -> None:
    root = tmp_path / "tb"
    sh_behind_socket(Layout(root, tmp_path / "logs").channel_socket("teeth-vm3"))
    result = cli("shell", "teeth-vm3", "echo", "inside;", "f() { return 4; };", "f", root=root)
    assert (result.returncode, result.stdout) == (4, "inside\n"), result.stderr


def test_cli_shell_without_such_a_vm_says_so(tmp_path: Path) -> None:
    result = cli("shell", "--wait", "0.5", "teeth-vm7", "true", root=tmp_path)
    assert result.returncode == 1 and "no socket within" in result.stderr


CAPS = """<capabilities><host>
  <secmodel><model>none</model><doi>0</doi></secmodel>
  <secmodel><model>dac</model><doi>0</doi>
    <baselabel type='kvm'>+999:+995</baselabel><baselabel type='qemu'>+999:+995</baselabel>
  </secmodel></host></capabilities>"""


def test_the_qemu_user_comes_from_libvirts_dac_base_label() -> None:
    assert dac_owner(CAPS) == (999, 995)
    no_dac = "<capabilities><host><secmodel><model>none</model></secmodel></host></capabilities>"
    assert dac_owner(no_dac) is None
    assert dac_owner(CAPS.replace("+999:+995", "+x:+y")) is None  # unreadable: no guess
