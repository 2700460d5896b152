"""Every external program the Linux backend runs, and the Debian package that provides it.

This table is the single source of truth for two consumers: the backend (which resolves a tool's path
from it) and the ramdisk element, whose ``package-installs.yaml`` must install every package named here
(``tests/ramdisk`` checks that). Add a tool here in the same change that starts calling it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# tool binary -> Debian package. Read-only so that no caller can change it at run time.
REQUIRED_TOOLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # disks: identity, security, erase
        "hdparm": "hdparm",
        "smartctl": "smartmontools",
        "nvme": "nvme-cli",
        "blkdiscard": "util-linux",
        "wipefs": "util-linux",
        "lsblk": "util-linux",
        "blkid": "util-linux",
        "blockdev": "util-linux",
        "mdadm": "mdadm",
        "udevadm": "udev",
        # partitions, filesystems, config drive
        "sfdisk": "fdisk",
        "sgdisk": "gdisk",
        "partprobe": "parted",
        "mkfs.vfat": "dosfstools",
        "mkfs.ext4": "e2fsprogs",
        "xorriso": "xorriso",
        "mcopy": "mtools",
        "mount": "mount",
        "umount": "mount",
        # images
        "qemu-img": "qemu-utils",
        "zstd": "zstd",
        # boot
        "grub-install": "grub2-common",
        "efibootmgr": "efibootmgr",
        "kexec": "kexec-tools",
        "systemctl": "systemd",
        # inventory and firmware
        "dmidecode": "dmidecode",
        "ethtool": "ethtool",
        "ip": "iproute2",
        "lspci": "pciutils",
    }
)
