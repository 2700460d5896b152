# Variables of the teeth-agent-base element (see the teeth-agent element's README.rst).

# Directory on the build host holding the agent's wheel (teeth_agent-*.whl). Built on the host because the
# chroot has no package index and the host's PIP_* settings would leak into it.
export DIB_TEETH_AGENT_WHEELS=${DIB_TEETH_AGENT_WHEELS:-}

# Compressor for the initramfs: zstd (default), xz or gzip. The kernel must support it (CONFIG_RD_*).
export DIB_TEETH_AGENT_COMPRESS=${DIB_TEETH_AGENT_COMPRESS:-zstd}
# Its level; empty means the element's default (zstd 9, xz 6, gzip 9).
export DIB_TEETH_AGENT_COMPRESS_LEVEL=${DIB_TEETH_AGENT_COMPRESS_LEVEL:-}

# Serial console the getty runs on (the kernel command line still needs console=ttyS0,115200).
export DIB_TEETH_AGENT_SERIAL=${DIB_TEETH_AGENT_SERIAL:-ttyS0}

# Networking is systemd-networkd (DHCP on every wired interface), so the debootstrap element must not
# write ifupdown stanzas for eth0/eth1.
export DIB_APT_MINIMAL_CREATE_INTERFACES=${DIB_APT_MINIMAL_CREATE_INTERFACES:-0}
