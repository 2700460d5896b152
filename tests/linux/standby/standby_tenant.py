"""The tenant the standby loop tests install: its grub.cfg and boot files, the kexec target grub's default
entry names, the config drive params, and a stand-in / that allows kexec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teeth_agent.backend.types import KexecTarget

KERNEL = b"MZ fake tenant kernel 6.1.0-tenant\n"
INITRD = b"fake initramfs 6.1.0-tenant\n"
# What grub-mkconfig writes on Debian, trimmed: the default entry is the first one, with a submenu after.
GRUB_CFG = """\
set default="0"
if [ x"${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
set timeout=5
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux $menuentry_id_option 'gnulinux-simple-1234' {
\tload_video
\tinsmod ext2
\tsearch --no-floppy --fs-uuid --set=root 1234
\techo 'Loading Linux 6.1.0-tenant ...'
\tlinux\t/boot/vmlinuz-6.1.0-tenant root=UUID=1234 ro console=ttyS0 quiet
\tinitrd\t/boot/initrd.img-6.1.0-tenant
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-1234' {
\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-tenant (recovery mode)' {
\t\tlinux\t/boot/vmlinuz-6.1.0-tenant root=UUID=1234 ro single
\t\tinitrd\t/boot/initrd.img-6.1.0-tenant
\t}
}
"""
BOOT_FILES = {"boot/grub/grub.cfg": GRUB_CFG.encode(), "boot/vmlinuz-6.1.0-tenant": KERNEL,
              "boot/initrd.img-6.1.0-tenant": INITRD}
EXPECTED = KexecTarget(kernel="/boot/vmlinuz-6.1.0-tenant", initrd="/boot/initrd.img-6.1.0-tenant",
                       cmdline="root=UUID=1234 ro console=ttyS0 quiet")

PARAMS: dict[str, Any] = {
    "meta_data": {"uuid": "8c1b2f4e-0000-4000-8000-000000000001", "hostname": "tenant-1",
                  "public_keys": {"default": "ssh-ed25519 AAAAC3Nz tenant@example"}},
    "user_data": "#cloud-config\nruncmd:\n  - echo hello\n",
    "network_data": {"links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": "52:54:00:12:34:56"}],
                     "networks": [{"id": "n0", "link": "eth0", "type": "ipv4_dhcp"}], "services": []},
}


def kexec_root(tmp_path: Path, disabled: str, lockdown: str | None = None) -> str:
    """A directory standing in for / as the backend reads it: the kexec switch, and the lockdown mode."""
    root = tmp_path / "root"
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/kexec_load_disabled").write_text(disabled + "\n")
    if lockdown is not None:
        (root / "sys/kernel/security").mkdir(parents=True)
        modes = ("none", "integrity", "confidentiality")
        (root / "sys/kernel/security/lockdown").write_text(
            " ".join(f"[{m}]" if m == lockdown else m for m in modes) + "\n")
    return str(root)

