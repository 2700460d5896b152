# Defaults for the Debian ramdisk. Sorted before debian-minimal's own environment (10-*), so these win
# over its "stable" default while anything the caller exported still wins over both.
# bookworm: Python 3.11, the version the agent is developed and tested against.
export DIB_RELEASE=${DIB_RELEASE:-bookworm}
# non-free-firmware: the NIC/HBA firmware files (ice, bnx2x, qed, qla2xxx...) some server NICs need for
# link; post-install.d/97 keeps only the files those drivers load.
export DIB_DEBIAN_COMPONENTS=${DIB_DEBIAN_COMPONENTS:-main,non-free-firmware}
