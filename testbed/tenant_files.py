"""The text files of the tenant test image: its /init, its grub.cfg and the config drive's metadata.

Pure. The markers are what the tests look for on the serial console.
"""

from __future__ import annotations

import json

BOOT_MARKER = "TEETH-TENANT-BOOTED"
UUID_PREFIX = "TEETH-TENANT-UUID="
HELLO_PREFIX = "TEETH-TENANT-HELLO-REPLY="
HELLO_ARG = "teeth.tenant.hello"  # kernel argument IP:PORT: say hello there through the user-mode network
CHANNEL_ARG = "teeth.tenant.channel"  # kernel argument NAME: say hello on that virtio-serial port
DONE_MARKER = "TEETH-TENANT-DONE"
CONFIG_DRIVE_LABEL = "config-2"
KERNEL_CMDLINE = "console=ttyS0,115200 panic=-1"
# What the tenant needs to find a config drive on any of the testbed's disk controllers.
WANTED_MODULES = (
    "virtio_pci", "virtio_blk", "ahci", "sd_mod", "nvme", "sr_mod", "isofs",
    "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "crc32c_generic", "ext4", "virtio_net",
    "virtio_console",
)


def init_script(module_paths: list[str], config_wait_s: int = 15) -> str:
    """The tenant's /init (busybox sh): marker, config drive uuid, power off."""
    modules = " ".join(module_paths)
    return f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "{BOOT_MARKER} kernel=$(uname -r)"
for m in {modules}; do insmod "/lib/modules/$m" || echo "tenant: insmod $m failed"; done
dev=""
tries=0
while [ -z "$dev" ] && [ "$tries" -lt {config_wait_s * 2} ]; do
  dev=$(findfs LABEL={CONFIG_DRIVE_LABEL} 2>/dev/null)
  [ -n "$dev" ] || sleep 0.5
  tries=$((tries + 1))
done
uuid=none
if [ -n "$dev" ]; then
  mkdir -p /mnt/config
  if mount -o ro "$dev" /mnt/config; then
    uuid=$(tr -d '\\n' < /mnt/config/openstack/latest/meta_data.json \\
      | sed -n 's/.*"uuid"[ ]*:[ ]*"\\([^"]*\\)".*/\\1/p')
    umount /mnt/config
  fi
fi
echo "{UUID_PREFIX}${{uuid:-none}} device=${{dev:-none}}"
for arg in $(cat /proc/cmdline); do
  case "$arg" in {HELLO_ARG}=*)
    target="${{arg#*=}}"
    ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
    serial=$(cat /sys/class/dmi/id/product_serial)
    reply=$(echo "hello serial=$serial" | timeout 20 nc "${{target%:*}}" "${{target##*:}}" | head -n 1)
    echo "{HELLO_PREFIX}${{reply:-none}}" ;;
  {CHANNEL_ARG}=*)
    for port in /sys/class/virtio-ports/*; do
      if [ "$(cat "$port/name" 2>/dev/null)" = "${{arg#*=}}" ]; then
        echo "hello over ${{arg#*=}} serial=$(cat /sys/class/dmi/id/product_serial)" > "/dev/${{port##*/}}"
        echo "TEETH-TENANT-CHANNEL-SENT=${{port##*/}}"
      fi
    done ;;
  esac
done
echo "{DONE_MARKER}"
sync
poweroff -f
"""


def grub_cfg(kernel: str = "/boot/vmlinuz", initrd: str = "/boot/initrd.img") -> str:
    return f"""serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=1
set default=0
menuentry "teeth tenant" {{
  echo "grub: loading teeth tenant"
  linux {kernel} {KERNEL_CMDLINE}
  initrd {initrd}
}}
"""


def meta_data_json(instance_uuid: str, hostname: str = "tenant") -> str:
    """openstack/latest/meta_data.json as a config drive carries it (the fields the tenant reads)."""
    return json.dumps({"uuid": instance_uuid, "hostname": hostname, "name": hostname}, indent=2) + "\n"
