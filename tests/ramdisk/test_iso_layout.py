"""The virtual-media ISO's boot menu and what it carries (pure; the build itself is in test_build.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.ramdisk.config import RamdiskError
from testbed.ramdisk.iso import IsoContents, boot_cmdline, grub_cfg


def test_plain_iso_boots_the_given_cmdline() -> None:
    cmdline = boot_cmdline(IsoContents("console=ttyS0 teeth.endpoint=tcp://10.0.0.1:9999"))
    assert cmdline == "console=ttyS0 teeth.endpoint=tcp://10.0.0.1:9999"
    cfg = grub_cfg(cmdline)
    assert "linux /teeth/kernel console=ttyS0 teeth.endpoint=tcp://10.0.0.1:9999\n" in cfg
    assert "initrd /teeth/initramfs" in cfg


def test_carried_files_are_named_on_the_cmdline_by_where_the_ramdisk_copies_them(tmp_path: Path) -> None:
    nd, token = tmp_path / "nd.json", tmp_path / "token"
    cmdline = boot_cmdline(IsoContents("quiet", nd, token, label="NODE7"))
    assert cmdline.split() == [
        "quiet", "teeth.media=NODE7", "teeth.network=/run/teeth-agent/network_data.json",
        "teeth.token_file=/run/teeth-agent/token",
    ]
    assert "s3cret" not in cmdline  # the token's value never goes on the command line


@pytest.mark.parametrize("bad", ['ip=1 "x"', "a; reboot", "teeth.x=${evil}", "a\nmenuentry"])
def test_a_cmdline_grub_would_interpret_is_refused(bad: str) -> None:
    with pytest.raises(RamdiskError, match="may not hold"):
        grub_cfg(bad)
