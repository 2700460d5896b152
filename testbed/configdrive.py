"""A config drive image (vfat, label config-2, openstack/latest/meta_data.json), made without root.

The tenant image reads the instance uuid from it. The agent writes its own config drives during
`standbye.run_image`; this one lets the testbed prove the tenant image before the agent exists.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from testbed import tenant_files, tools

SIZE_MIB = 16


def make(path: Path, instance_uuid: str, hostname: str = "tenant") -> Path:
    """Write a vfat config drive image to path (replacing it) and return path."""
    path.unlink(missing_ok=True)
    tools.run(["mkfs.vfat", "-n", tenant_files.CONFIG_DRIVE_LABEL, "-C", str(path), str(SIZE_MIB * 1024)])
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp) / "meta_data.json"
        meta.write_text(tenant_files.meta_data_json(instance_uuid, hostname))
        image = ["-i", str(path)]
        tools.run(["mmd", *image, "::openstack", "::openstack/latest"])
        tools.run(["mcopy", *image, str(meta), "::openstack/latest/meta_data.json"])
    return path
