"""The grub default entry -> kexec target, on grub.cfg text shaped like what distributions generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from teeth_agent.backend.types import KexecTarget
from teeth_agent.boot.grub_cfg import GrubConfigError, default_target

# Trimmed from Debian 12 grub-mkconfig output: default via next_entry/saved logic, id via the
# $menuentry_id_option variable, an "Advanced options" submenu.
DEBIAN = (Path(__file__).parent / "data" / "debian12-grub.cfg").read_text()


def test_debian_default_is_the_first_entry() -> None:
    assert default_target(DEBIAN) == KexecTarget(
        "/boot/vmlinuz-6.1.0-13-amd64", "/boot/initrd.img-6.1.0-13-amd64", "root=UUID=1234 ro quiet"
    )


@pytest.mark.parametrize(
    ("default", "kernel"),
    [
        ("1>1", "/boot/vmlinuz-6.1.0-9-amd64"),
        ("gnulinux-advanced-1234>gnulinux-6.1.0-9-advanced-1234", "/boot/vmlinuz-6.1.0-9-amd64"),
        ("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-9-amd64",
         "/boot/vmlinuz-6.1.0-9-amd64"),
        ("1", "/boot/vmlinuz-6.1.0-13-amd64"),  # a submenu itself: its first entry
        ("7", "/boot/vmlinuz-6.1.0-13-amd64"),  # names nothing: grub falls back to entry 0
    ],
)
def test_default_paths_titles_and_ids(default: str, kernel: str) -> None:
    text = DEBIAN.replace('set default="0"', f'set default="{default}"')
    assert default_target(text).kernel == kernel


def test_efi_commands_device_prefixes_and_microcode_initrds() -> None:
    text = """
set default=0
menuentry "Rocky Linux" {
    linuxefi ($root)/vmlinuz-5.14 root=/dev/mapper/rl-root ro crashkernel=auto
    initrdefi (hd0,gpt2)/intel-ucode.img (hd0,gpt2)/initramfs-5.14.img
}
"""
    assert default_target(text) == KexecTarget(
        "/vmlinuz-5.14", "/initramfs-5.14.img", "root=/dev/mapper/rl-root ro crashkernel=auto"
    )


def test_entry_without_initrd() -> None:
    text = "menuentry 'tiny' {\n  linux /boot/bzImage console=ttyS0\n}\n"
    assert default_target(text) == KexecTarget("/boot/bzImage", None, "console=ttyS0")


def test_saved_default_without_literal_falls_back_to_first() -> None:
    text = "set default=\"${saved_entry}\"\n" + DEBIAN.split("function load_video")[0].split("fi\n", 2)[0]
    text += "menuentry 'one' {\n linux /a x=1\n}\nmenuentry 'two' {\n linux /b\n}\n"
    assert default_target(text).kernel == "/a"


def test_no_entries_or_no_kernel_is_an_error() -> None:
    with pytest.raises(GrubConfigError, match="no menu entry"):
        default_target("set timeout=5\n")
    with pytest.raises(GrubConfigError, match="loads no linux kernel"):
        default_target("menuentry 'Windows' {\n chainloader +1\n}\n")


def test_unbalanced_quotes_do_not_break_parsing() -> None:
    text = "echo 'oops\nmenuentry 'ok' {\n linux /k a=b\n}\n"
    assert default_target(text).kernel == "/k"
