"""Disk discovery over fake tools: lsblk identity, per-transport security/abilities, probed signatures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from teeth_agent.backend.errors import DeviceNotFound, DeviceRefused
from teeth_agent.backend.linux.backend import LinuxBackend
from teeth_agent.backend.linux.exec import FakeRunner, Result, failed, ok
from teeth_agent.backend.types import Transport

Reader = Callable[[str], str]


def blkid_by_device(found: dict[str, str]) -> Callable[[tuple[str, ...], bytes | None], Result]:
    """blkid -p answers: TYPE=<found[device]>, or exit 2 (nothing) for devices not in `found`."""

    def answer(argv: tuple[str, ...], data: bytes | None) -> Result:
        kind = found.get(argv[-1])
        return ok(f"DEVNAME={argv[-1]}\nTYPE={kind}\n") if kind else Result("", "", 2)

    return answer


def tools(data: Reader, blkid: dict[str, str]) -> FakeRunner:
    return FakeRunner({
        ("lsblk",): ok(data("lsblk_host_mixed.json")),
        ("sfdisk",): failed(1, "does not contain a recognized partition table"),
        ("blkid",): blkid_by_device(blkid),
        ("hdparm", "-I", "/dev/sda"): ok(data("hdparm_I_ssd_frozen.txt")),
        ("hdparm", "-I"): ok(data("hdparm_I_loop.txt")),
        ("smartctl",): ok(data("smartctl_g_security_unavailable.txt")),
        ("smartctl", "-g", "security", "/dev/sdd"): ok(data("smartctl_g_security_sec1.txt")),
        ("nvme", "id-ctrl"): ok(data("nvme_id_ctrl_datacenter.json")),
    })


async def test_every_disk_gets_its_transports_facts(data: Reader) -> None:
    runner = tools(data, {"/dev/sdc": "ocfs2"})
    disks = {d.path: d for d in await LinuxBackend(runner=runner).list_disks()}
    assert "/dev/loop0" not in disks  # loop devices only when an allowlist names them
    sda = disks["/dev/sda"]
    assert sda.ata_security is not None and sda.ata_security.frozen and sda.firmware_version == "RVT02B6Q"
    assert disks["/dev/sdb"].ata_security_hidden_by_bridge  # USB bridge, hdparm sees nothing
    assert disks["/dev/sdd"].ata_security_hidden_by_bridge  # smartctl sees security that hdparm cannot
    assert not disks["/dev/sdc"].ata_security_hidden_by_bridge and disks["/dev/sdc"].ata_security is None
    nvme = disks["/dev/nvme0n1"]
    assert nvme.nvme is not None and nvme.nvme.crypto_erase_supported and nvme.firmware_version == "GDC5602Q"
    assert disks["/dev/vda"].is_boot_medium and disks["/dev/vda"].transport is Transport.VIRTIO
    assert not any(c[0] == "hdparm" and c[-1] in ("/dev/vda", "/dev/nvme0n1") for c in runner.calls)


async def test_probed_signatures_join_lsblks(data: Reader) -> None:
    runner = tools(data, {"/dev/sdc": "gfs2", "/dev/vda": "linux_raid_member"})
    disks = {d.path: d for d in await LinuxBackend(runner=runner).list_disks()}
    assert disks["/dev/sdc"].fs_signatures == ("ocfs2", "gfs2")
    assert disks["/dev/vda"].raid_member


def loop_lsblk(paths: list[str], template: str) -> str:
    node = json.loads(template)["blockdevices"][0]
    return json.dumps({"blockdevices": [dict(node, path=p, name=Path(p).name) for p in paths]})


async def test_allowlist_hides_everything_else_and_refuses_it(tmp_path: Path, data: Reader) -> None:
    allowed, other = tmp_path / "loop7", tmp_path / "loop8"
    allowed.touch()
    other.touch()
    runner = FakeRunner({
        ("lsblk",): lambda argv, _: ok(loop_lsblk([*argv[4:], str(other)], data("lsblk_loop_plain.json"))),
        ("sfdisk",): failed(1),
        ("blkid",): Result("", "", 2),
    })
    backend = LinuxBackend(only_devices=[str(allowed)], runner=runner)
    assert [d.path for d in await backend.list_disks()] == [str(allowed)]
    assert ("lsblk", "-J", "-O", "-b", str(allowed)) in runner.calls
    assert (await backend.refresh_disk(str(allowed))).transport is Transport.LOOP
    with pytest.raises(DeviceRefused):
        await backend.refresh_disk(str(other))
    with pytest.raises(DeviceRefused):
        await backend.overwrite(str(other), progress=lambda d, t: None)


async def test_missing_device_is_not_found(tmp_path: Path) -> None:
    backend = LinuxBackend(only_devices=[str(tmp_path / "gone")], runner=FakeRunner({}))
    assert await backend.list_disks() == ()
    with pytest.raises(DeviceNotFound):
        await backend.refresh_disk(str(tmp_path / "gone"))


async def test_a_controller_that_will_not_identify_keeps_the_others_listed(data: Reader) -> None:
    runner = tools(data, {})
    table = dict(runner.table)
    table[("nvme", "id-ctrl")] = failed(1, "NVMe status: Internal Error")
    disks = {d.path: d for d in await LinuxBackend(runner=FakeRunner(table)).list_disks()}
    assert disks["/dev/nvme0n1"].nvme is None and disks["/dev/sda"].ata_security is not None
