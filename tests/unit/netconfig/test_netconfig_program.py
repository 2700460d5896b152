"""teeth-agent-netconfig apply/wait, with a table-driven runner standing in for blkid and mount."""

from __future__ import annotations

import json
import os
from pathlib import Path

from teeth_agent.backend.linux.exec import FakeRunner, Result, failed, ok
from teeth_agent.netconfig import program
from teeth_agent.netconfig.networkd import NicName
from teeth_agent.netconfig.writer import read_report

DATA = Path(__file__).parent / "data"
NICS = [NicName("eno1", "b4:96:91:2a:0c:10"), NicName("eno2", "b4:96:91:2a:0c:11")]


def media_runner(files: dict[str, bytes | str], label: str = "TEETHAGENT") -> FakeRunner:
    """blkid finds /dev/sr0 by `label`; mount fills the mount point with `files` (str = symlink target)."""

    def mount(argv: tuple[str, ...], _input: bytes | None) -> Result:
        assert argv[1:3] == ("-o", "ro,nosuid,nodev,noexec")
        root = Path(argv[-1])
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.symlink_to(content)
            else:
                path.write_bytes(content)
        return ok()

    return FakeRunner({("blkid", "-L", label): ok("/dev/sr0\n"), ("blkid", "-L"): failed(2),
                       ("mount",): mount, ("umount",): ok()})


async def run_apply(tmp_path: Path, cmdline: str, runner: FakeRunner) -> dict[str, object]:
    rc = await program.apply(cmdline, runner=runner, nics=NICS, run_dir=tmp_path / "run",
                             networkd_dir=tmp_path / "networkd", report=tmp_path / "run" / "network.json")
    assert rc == 0
    report = read_report(tmp_path / "run" / "network.json")
    assert report is not None
    return report


async def test_iso_media_carries_network_data_and_token(tmp_path: Path) -> None:
    data = (DATA / "ironic_bond_vlans.json").read_bytes()
    runner = media_runner({"teeth/network_data.json": data, "teeth/token": b"s3cret\n"})
    cmdline = f"teeth.media=TEETHAGENT teeth.network={tmp_path}/run/network_data.json"
    report = await run_apply(tmp_path, cmdline, runner)
    assert report["source"] == "network_data" and report["problems"] == []
    assert report["wait_for"] == ["bond0.120", "bond0.130"]
    token = tmp_path / "run" / "token"
    assert token.read_bytes() == b"s3cret\n" and token.stat().st_mode & 0o777 == 0o600
    written = sorted(p.name for p in (tmp_path / "networkd").iterdir())
    assert written == sorted(report["files"])  # type: ignore[arg-type]
    assert runner.calls[-1][:1] == ("umount",)  # the media is not left mounted


async def test_config_drive_network_data(tmp_path: Path) -> None:
    data = (DATA / "dhcp_only.json").read_bytes()
    runner = media_runner({"openstack/latest/network_data.json": data}, label="config-2")
    report = await run_apply(tmp_path, "teeth.network=config-drive", runner)
    assert report["source"] == "network_data"
    assert report["unresolved"] == ["tapa1b2c3d4-e5"]  # its MAC is on no NIC of this machine


async def test_a_symlink_out_of_the_media_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"links": []}))
    runner = media_runner({"openstack/latest/network_data.json": str(secret)}, label="config-2")
    report = await run_apply(tmp_path, "teeth.network=config-drive ip=eno2:dhcp", runner)
    assert report["source"] == "cmdline"  # the next source down, and the reason
    assert "no such file on the media" in report["problems"][0]  # type: ignore[index]


async def test_no_media_and_bad_json_fall_back_to_dhcp_and_say_so(tmp_path: Path) -> None:
    bad = tmp_path / "nd.json"
    bad.write_text("{not json")
    runner = media_runner({})
    report = await run_apply(tmp_path, f"teeth.media=MISSING teeth.network={bad}", runner)
    assert report["source"] == "dhcp-default"
    problems = report["problems"]
    assert isinstance(problems, list) and len(problems) == 2
    assert "no filesystem with that label" in problems[0] and "not JSON" in problems[1]


async def test_a_rerun_replaces_its_own_files(tmp_path: Path) -> None:
    runner = media_runner({})
    await run_apply(tmp_path, "ip=192.0.2.5::192.0.2.1:24::eno1:none", runner)
    await run_apply(tmp_path, "", runner)
    names = os.listdir(tmp_path / "networkd")
    assert len(names) == 1 and names[0].startswith("20-teeth-00-")


def test_wait_names_the_configured_links_else_any() -> None:
    assert program.wait_argv({"wait_for": ["bond0.120"]}, 90) == [
        program.WAIT_ONLINE, "-i", "bond0.120", "--timeout=90"]
    assert program.wait_argv(None, 30) == [program.WAIT_ONLINE, "--any", "--timeout=30"]
