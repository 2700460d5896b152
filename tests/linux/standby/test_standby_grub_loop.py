"""grub on the real Linux backend: install_bootloader (BIOS, the host's grub-pc-bin) into a disk image on a
loop device in a private /dev, read_grub_config, the grub parser's kexec target, and kexec_load with the
kexec tool itself never run (NoKexecRunner records its argv). Checked from the host via the backing file."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from standby_images import MIB, grub_disk
from standby_loop_support import NEEDS_ROOT, AttachLoop, in_standby_namespace, ok
from standby_tables import read_table
from standby_tenant import BOOT_FILES, EXPECTED, GRUB_CFG, INITRD, KERNEL, kexec_root

from teeth_agent.boot.grub_cfg import default_target

pytestmark = NEEDS_ROOT
DISK = 96 * MIB
IMAGE = 64 * MIB


def grub_loop(attach_loop: AttachLoop, tmp_path: Path, label: str) -> tuple[Any, bytes, int]:
    image = tmp_path / f"grub-{label}.raw"
    offset = grub_disk(image, IMAGE, BOOT_FILES, label=label)
    data = image.read_bytes()
    return attach_loop(DISK, data), data, offset


def ext4_file(backing: Path, offset: int, size: int, path: str, workdir: Path) -> bytes:
    """A file from the ext4 at backing[offset:offset+size], read in userspace (debugfs)."""
    part, out = workdir / "part.ext4", workdir / "dumped"
    with backing.open("rb") as src:
        src.seek(offset)
        part.write_bytes(src.read(size))
    subprocess.run(["debugfs", "-R", f"dump {path} {out}", str(part)], check=True, capture_output=True)
    data = out.read_bytes()
    part.unlink()
    out.unlink()
    return data


@pytest.mark.parametrize("label", ["dos", "gpt"])
def test_bios_grub_install_embeds_core_image(attach_loop: AttachLoop, tmp_path: Path, label: str) -> None:
    loop, before, offset = grub_loop(attach_loop, tmp_path, label)
    done = ok(in_standby_namespace("install_bootloader", loop, mode="bios"))
    assert done == {"disk": loop.dev, "mode": "bios", "efi_entry": None}

    after = loop.backing.read_bytes()
    assert b"GRUB" in after[:440]  # boot.img's code in the MBR
    assert after[440:512] == before[440:512]  # disk signature and partition table kept
    core = ext4_file(loop.backing, offset, IMAGE - offset, "/boot/grub/i386-pc/core.img", tmp_path)
    # core.img went to the embedding area: the gap after the MBR, or GPT's BIOS boot partition.
    embed = 1 if label == "dos" else read_table(loop.backing)["partitions"][0]["start"]
    assert len(core) > 4096
    embedded = after[embed * 512:embed * 512 + len(core)]
    # grub-bios-setup patches the embedded copy (blocklist in the first sector, boot partition fields
    # in the second); everything from the third sector on is core.img as installed in /boot/grub.
    assert embedded[1024:] == core[1024:]
    assert embedded[:512] != bytes(512) and sum(a != b for a, b in zip(embedded, core, strict=True)) < 64
    boot_dir = ext4_file(loop.backing, offset, IMAGE - offset, "/boot/grub/grub.cfg", tmp_path)
    assert boot_dir == GRUB_CFG.encode()  # grub-install leaves the image's config alone


def test_read_grub_config_gives_the_cfg_and_its_default_entry(
    attach_loop: AttachLoop, tmp_path: Path
) -> None:
    loop, _, _ = grub_loop(attach_loop, tmp_path, "dos")
    text = ok(in_standby_namespace("read_grub_config", loop))
    assert text == GRUB_CFG
    assert default_target(text) == EXPECTED


def test_read_grub_config_of_an_image_without_grub_is_none(attach_loop: AttachLoop, tmp_path: Path) -> None:
    image = tmp_path / "nogrub.raw"
    grub_disk(image, IMAGE, {"etc/hostname": b"tenant\n"})
    loop = attach_loop(DISK, image.read_bytes())
    assert ok(in_standby_namespace("read_grub_config", loop)) is None
    out = in_standby_namespace("install_bootloader", loop, mode="bios")
    assert out.get("error") == "DeviceStateError" and "no grub.cfg" in out["message"], out


def test_bios_grub_on_gpt_without_a_bios_boot_partition_is_refused(
    attach_loop: AttachLoop, tmp_path: Path
) -> None:
    image = tmp_path / "nobiosboot.raw"
    grub_disk(image, IMAGE, BOOT_FILES, label="gpt", bios_boot=False)
    loop = attach_loop(DISK, image.read_bytes())
    out = in_standby_namespace("install_bootloader", loop, mode="bios")
    assert out.get("error") == "DeviceStateError" and "BIOS boot partition" in out["message"], out
    assert b"GRUB" not in loop.backing.read_bytes()[:440]


def test_kexec_load_finds_the_kernel_in_the_image(attach_loop: AttachLoop, tmp_path: Path) -> None:
    loop, _, _ = grub_loop(attach_loop, tmp_path, "dos")
    target = {"kernel": EXPECTED.kernel, "initrd": EXPECTED.initrd, "cmdline": EXPECTED.cmdline}
    out = in_standby_namespace("kexec_load", loop, target=target, root=kexec_root(tmp_path, "0"))
    ok(out)
    (call,) = out["kexec_calls"]
    argv = call["argv"]
    assert argv[:2] == ["kexec", "--load"] and argv[2].endswith("/boot/vmlinuz-6.1.0-tenant")
    assert f"--command-line={EXPECTED.cmdline}" in argv
    initrd = next(a for a in argv if a.startswith("--initrd="))
    # The paths named the image's own files, on its partition mounted at that moment.
    assert call["files"] == {argv[2]: KERNEL.decode(), initrd.removeprefix("--initrd="): INITRD.decode()}


def test_under_lockdown_kexec_uses_kexec_file_load(attach_loop: AttachLoop, tmp_path: Path) -> None:
    # A Secure Boot kernel refuses kexec_load; kexec_file_load (-s) checks the tenant kernel's signature.
    loop, _, _ = grub_loop(attach_loop, tmp_path, "dos")
    target = {"kernel": EXPECTED.kernel, "initrd": EXPECTED.initrd, "cmdline": EXPECTED.cmdline}
    out = in_standby_namespace("kexec_load", loop, target=target,
                               root=kexec_root(tmp_path, "0", lockdown="integrity"))
    ok(out)
    (call,) = out["kexec_calls"]
    assert call["argv"][:3] == ["kexec", "--kexec-file-syscall", "--load"]


def test_kexec_load_refused_when_the_kernel_disables_it(attach_loop: AttachLoop, tmp_path: Path) -> None:
    loop, _, _ = grub_loop(attach_loop, tmp_path, "dos")
    target = {"kernel": EXPECTED.kernel, "initrd": None, "cmdline": ""}
    out = in_standby_namespace("kexec_load", loop, target=target, root=kexec_root(tmp_path, "1"))
    assert out.get("error") == "Unsupported" and out["kexec_calls"] == [], out


def test_kexec_load_of_a_missing_kernel_is_a_clear_error(attach_loop: AttachLoop, tmp_path: Path) -> None:
    loop, _, _ = grub_loop(attach_loop, tmp_path, "dos")
    target = {"kernel": "/boot/vmlinuz-9.9-missing", "initrd": None, "cmdline": ""}
    out = in_standby_namespace("kexec_load", loop, target=target, root=kexec_root(tmp_path, "0"))
    assert out.get("error") == "DeviceStateError" and "vmlinuz-9.9-missing" in out["message"], out
    assert out["kexec_calls"] == []
