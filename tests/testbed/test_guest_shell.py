"""The guest shell's client against a stand-in guest (conftest: a real `sh` behind a unix socket)."""

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from testbed import guest_shell
from testbed.guest_shell import GuestShell, GuestShellError, parse_reply

pytestmark = pytest.mark.testbed


def test_parse_reply_waits_for_its_own_marker() -> None:
    assert parse_reply(b"partial output", "cmd-1") is None
    assert parse_reply(b"x\n@@cmd-0 0\n", "cmd-1") is None  # somebody else's marker
    reply, rest = parse_reply(b"line one\nline two\n@@cmd-1 3\ntrailing", "cmd-1")  # type: ignore[misc]
    assert (reply.output, reply.returncode, rest) == ("line one\nline two\n", 3, b"trailing")


def test_the_kernel_arguments_keep_the_normal_boot_and_name_the_channel() -> None:
    args = guest_shell.KERNEL_ARGS
    assert "systemd.unit=multi-user.target" in args  # else systemd.run= would replace the boot target
    assert "systemd.run_success_action=none" in args  # else the guest powers off when the shell forks
    assert f"/dev/virtio-ports/{guest_shell.CHANNEL}" in args
    assert "%" not in args and "$" not in args  # unit files would expand them


@pytest.fixture
def fake_guest(tmp_path: Path, sh_behind_socket: Callable[[Path], Path]) -> Path:
    return sh_behind_socket(tmp_path / "shell.sock")


def test_run_returns_output_and_exit_status(fake_guest: Path) -> None:
    with GuestShell.connect(fake_guest, within=10) as shell:
        assert shell.run("echo hello; echo oops >&2").output.splitlines() == ["hello", "oops"]
        assert shell.run("false").returncode == 1
        assert shell.check("printf 'no newline'") == "no newline"
        with pytest.raises(GuestShellError, match="exited 3"):
            shell.check("exit_code() { return 3; }; exit_code")
        with pytest.raises(ValueError, match="one command line"):
            shell.run("echo a\necho b")


def test_a_slow_command_is_bounded(fake_guest: Path) -> None:
    with GuestShell.connect(fake_guest, within=10) as shell, \
            pytest.raises(GuestShellError, match="did not finish within"):
        shell.run("sleep 2", within=0.3)


def test_no_shell_behind_the_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GuestShellError, match="no socket within"):
        GuestShell.connect(tmp_path / "absent.sock", within=0.3)
    path = tmp_path / "mute.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    with listener, pytest.raises(GuestShellError, match="guest shell arguments"):
        GuestShell.connect(path, within=0.5)
