"""Reading an image tree the way the booted system would, on small trees built here."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from testbed.ramdisk.build import apt_packages
from testbed.ramdisk.config import RamdiskError
from testbed.ramdisk.contents import decompressor_for, find_tool, kernel_modules, resolve_in_root, unpack


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A merged-/usr root: /sbin -> usr/sbin, /init -> /sbin/init -> /lib/systemd/systemd (absolute)."""
    root = tmp_path / "root"
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    (root / "usr" / "lib" / "systemd" / "systemd").write_text("#!/bin/sh\n")
    (root / "usr" / "lib" / "systemd" / "systemd").chmod(0o755)
    links = {"sbin": "usr/sbin", "bin": "usr/bin", "lib": "usr/lib", "init": "/sbin/init"}
    for link, target in links.items():
        (root / link).symlink_to(target)
    (root / "usr" / "sbin" / "init").symlink_to("/lib/systemd/systemd")
    (root / "usr" / "sbin" / "mkfs.fat").write_text("")
    (root / "usr" / "sbin" / "mkfs.fat").chmod(0o755)
    (root / "usr" / "sbin" / "mkfs.vfat").symlink_to("mkfs.fat")
    (root / "usr" / "bin" / "not-executable").write_text("")
    (root / "usr" / "sbin" / "dangling").symlink_to("/nowhere")
    (root / "usr" / "sbin" / "loop-a").symlink_to("loop-b")
    (root / "usr" / "sbin" / "loop-b").symlink_to("loop-a")
    return root


def test_absolute_links_resolve_inside_the_image_not_on_the_host(tree: Path) -> None:
    assert resolve_in_root(tree, "/init") == PurePosixPath("/usr/lib/systemd/systemd")


def test_relative_links_and_merged_usr(tree: Path) -> None:
    assert resolve_in_root(tree, "/sbin/mkfs.vfat") == PurePosixPath("/usr/sbin/mkfs.fat")
    assert find_tool(tree, "mkfs.vfat") == PurePosixPath("/usr/sbin/mkfs.fat")


def test_missing_dangling_looping_or_non_executable_tools_are_not_found(tree: Path) -> None:
    for tool in ("hdparm", "dangling", "loop-a", "not-executable"):
        assert find_tool(tree, tool) is None, tool


def test_kernel_modules_read_loadable_and_builtin_names(tree: Path) -> None:
    moddir = tree / "usr" / "lib" / "modules" / "6.1.0-57-amd64"
    moddir.mkdir(parents=True)
    (moddir / "modules.dep").write_text(
        "kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko\n"
        "kernel/drivers/block/virtio_blk.ko:\n"
    )
    (moddir / "modules.builtin").write_text("kernel/fs/ext4/ext4.ko\n")
    assert kernel_modules(tree) == {"6.1.0-57-amd64": {"nvme", "virtio_blk", "ext4"}}


def test_unknown_compression_is_named() -> None:
    with pytest.raises(RamdiskError, match="unknown initramfs compression"):
        decompressor_for(b"070701")


@pytest.mark.parametrize("compressor", [["gzip", "-c"], ["zstd", "-q", "-c"], ["xz", "--check=crc32", "-c"]])
def test_unpack_round_trips_a_cpio(tmp_path: Path, compressor: list[str]) -> None:
    source = tmp_path / "src"
    (source / "etc").mkdir(parents=True)
    (source / "etc" / "hostname").write_text("teeth-agent\n")
    (source / "init").symlink_to("/sbin/init")
    listing = subprocess.run(["find", ".", "-print0"], cwd=source, capture_output=True, check=True).stdout
    archive = subprocess.run(["cpio", "--null", "--create", "--format=newc", "--quiet"], cwd=source,
                             input=listing, capture_output=True, check=True).stdout
    packed = tmp_path / "initramfs"
    packed.write_bytes(subprocess.run(compressor, input=archive, capture_output=True, check=True).stdout)
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack(packed, dest)
    assert (dest / "etc" / "hostname").read_text() == "teeth-agent\n"
    assert os.readlink(dest / "init") == "/sbin/init"


def test_apt_package_lists_ignore_comments_and_blanks(tmp_path: Path) -> None:
    listing = tmp_path / "apt-x.txt"
    listing.write_text("# build host\nsudo\n\ndebootstrap  # bootstraps the chroot\n   \n")
    assert apt_packages(listing) == ["sudo", "debootstrap"]
