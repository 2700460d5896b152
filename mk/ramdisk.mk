# The DIB ramdisk (issue 6): kernel + initramfs in .cache/ramdisk/, rebuilt only when elements/ or the
# agent's sources change. Variables: DIB_RELEASE, DIB_DISTRIBUTION_MIRROR, DIB_DEBIAN_SECURITY_MIRROR,
# DIB_TEETH_AGENT_COMPRESS, TEETH_RAMDISK_DIR (see elements/teeth-agent/README.rst).
.PHONY: ramdisk ramdisk-force

ramdisk: $(STAMP)
	$(PY) -m testbed.ramdisk

ramdisk-force: $(STAMP)
	$(PY) -m testbed.ramdisk --force
