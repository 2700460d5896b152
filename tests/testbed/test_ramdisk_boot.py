"""The DIB ramdisk under QEMU, driven through the reference endpoint over TCP (guestfwd)."""

import json

import pytest

from testbed import scenarios
from testbed.ramdisk import RamdiskArtifacts
from testbed.session import Session

pytestmark = pytest.mark.testbed


async def test_the_ramdisk_agent_connects_and_reports_its_status(
    testbed_session: Session, ramdisk: RamdiskArtifacts
) -> None:
    seen = await scenarios.agent_status(testbed_session, ramdisk.kernel, ramdisk.initramfs)
    assert seen.seen["agent_id"] == seen.expected["agent_id"]  # the SMBIOS serial the testbed set
    assert seen.seen["backend"] == "linux"
    status = json.loads(seen.seen["status"])
    serials = {d.get("serial") for d in status["hardware"]["disks"]}
    assert {"TB-SATA-0", "TB-VIRTIO-0", "TB-NVME-0"} <= serials
