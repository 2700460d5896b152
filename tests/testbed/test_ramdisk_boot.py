"""The DIB ramdisk under QEMU: direct kernel boot with teeth.endpoint on the command line."""

import json

import pytest

from testbed import scenarios
from testbed.ramdisk import RamdiskArtifacts
from testbed.session import Session

pytestmark = pytest.mark.testbed


def test_the_agent_in_the_ramdisk_dials_the_host_and_sends_its_handshake(
    testbed_session: Session, ramdisk: RamdiskArtifacts
) -> None:
    seen = scenarios.ramdisk_handshake(testbed_session, ramdisk.kernel, ramdisk.initramfs)
    handshake = json.loads(seen.seen["line"])
    assert handshake["method"] == "handshake" and handshake["version"] == "v1"
    assert {"agent_id", "boot_id", "methods"} <= set(handshake["params"])
