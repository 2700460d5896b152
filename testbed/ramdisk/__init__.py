"""Build the teeth-agent ramdisk with diskimage-builder (elements/teeth-agent), reusing unchanged builds.

    from testbed.ramdisk import RamdiskConfig, build_ramdisk
    artifacts = build_ramdisk(RamdiskConfig.from_env(repo, os.environ))

or from a shell: ``python -m testbed.ramdisk`` (``make ramdisk``).
"""

from testbed.ramdisk.build import RamdiskArtifacts, build_ramdisk
from testbed.ramdisk.config import RamdiskConfig, RamdiskError
from testbed.ramdisk.inputs import BuildRecord

__all__ = ["BuildRecord", "RamdiskArtifacts", "RamdiskConfig", "RamdiskError", "build_ramdisk"]
