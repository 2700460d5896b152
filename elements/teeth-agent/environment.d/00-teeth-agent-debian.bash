# Defaults for the Debian ramdisk. Sorted before debian-minimal's own environment (10-*), so these win
# over its "stable" default while anything the caller exported still wins over both.
# bookworm: Python 3.11, the version the agent is developed and tested against.
export DIB_RELEASE=${DIB_RELEASE:-bookworm}
