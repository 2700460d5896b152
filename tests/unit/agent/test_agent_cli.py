"""The command line: where options come from, and bad input named clearly (exit 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teeth_agent.cli import UsageError, build_parser, make_backend, make_config, read_kernel_options
from teeth_agent.cmdline import KernelOptions
from teeth_agent.commands.entry import main
from teeth_agent.dial import EndpointUrl


def _config(argv: list[str], kernel: KernelOptions | None = None) -> object:
    return make_config(build_parser().parse_args(argv), kernel or KernelOptions())


def test_flags_win_over_the_kernel_command_line(tmp_path: Path) -> None:
    kernel = KernelOptions(("tcp://10.0.0.9:1",), {"agent_id": "from-kernel", "state_dir": "/k"})
    cfg = _config(
        ["--endpoint", "tcp://127.0.0.1:5,unix:///run/e.sock", "--state-dir", str(tmp_path)], kernel
    )
    assert cfg.endpoints == (EndpointUrl("tcp", "127.0.0.1", 5), EndpointUrl("unix", path="/run/e.sock"))  # type: ignore[attr-defined]
    assert cfg.agent_id == "from-kernel" and cfg.state_dir == tmp_path  # type: ignore[attr-defined]
    from_kernel = _config([], kernel)
    assert from_kernel.endpoints == (EndpointUrl("tcp", "10.0.0.9", 1),)  # type: ignore[attr-defined]


def test_cmdline_file_and_token_file(tmp_path: Path) -> None:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("quiet teeth.endpoint=tcp://127.0.0.1:9 teeth.log_level=debug\n")
    token = tmp_path / "token"
    token.write_text("  s3cret\n")
    kernel = read_kernel_options(cmdline)
    assert kernel.get("log_level") == "debug"
    assert _config(["--token-file", str(token)], kernel).token == "s3cret"  # type: ignore[attr-defined]


def test_token_file_from_the_kernel_command_line(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("from-the-iso\n")
    kernel = KernelOptions(("tcp://127.0.0.1:9",), {"token_file": str(token)})
    assert _config([], kernel).token == "from-the-iso"  # type: ignore[attr-defined]
    with pytest.raises(UsageError, match=r"teeth\.token_file="):
        _config([], KernelOptions(("tcp://127.0.0.1:9",), {"token_file": str(tmp_path / "absent")}))


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "no endpoint"),
        (["--endpoint", "ftp://x:1"], "scheme must be"),
        (["--endpoint", "tcp://h:1", "--token-file", "/nonexistent/token"], "--token-file"),
        (["--endpoint", "tls://h:1", "--key", "k.pem"], "--key given without --cert"),
        (["--endpoint", "tcp://h:1", "--heartbeat-interval", "0"], "heartbeat"),
    ],
)
def test_bad_configuration_is_named(argv: list[str], needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        _config(argv)


def test_sim_backend_needs_a_profile_and_null_backend_is_empty() -> None:
    with pytest.raises(UsageError, match="--profile"):
        make_backend(build_parser().parse_args(["--backend", "sim"]), KernelOptions())
    assert make_backend(build_parser().parse_args(["--backend", "null"]), KernelOptions()).name == "null"


def test_main_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["--cmdline-file", str(missing)]) == 2
    assert "--cmdline-file" in capsys.readouterr().err


def test_an_unusable_state_dir_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = ["--endpoint", "tcp://127.0.0.1:1", "--backend", "null", "--cmdline-file", str(blocker)]
    assert main([*argv, "--state-dir", str(blocker / "sub")]) == 2
    assert "state dir" in capsys.readouterr().err


def test_the_token_can_come_from_the_kernel_command_line_or_a_config_drive(tmp_path: Path) -> None:
    drive = tmp_path / "token"
    drive.write_text("per-agent\n")
    kernel = KernelOptions(endpoints=("tcp://h:1",), options={"token": "from-cmdline"})
    assert _config([], kernel).token == "from-cmdline"  # type: ignore[attr-defined]
    both = KernelOptions(endpoints=("tcp://h:1",), options={"token": "x", "token_file": str(drive)})
    assert _config([], both).token == "per-agent"  # type: ignore[attr-defined]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_state_dir_of_another_user_stops_the_agent_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 4321, 4321)
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("")
    argv = ["--endpoint", "tcp://127.0.0.1:1", "--backend", "null", "--cmdline-file", str(cmdline)]
    assert main([*argv, "--state-dir", str(theirs)]) == 2
    assert "owned by uid 4321" in capsys.readouterr().err
