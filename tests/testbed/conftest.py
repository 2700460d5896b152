"""Fixtures for the VM testbed. Booting tests need QEMU and libvirt: missing either is a failure,
never a skip, unless TEETH_SKIP_TESTBED=1 says the run opts out of the testbed explicitly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.harness import Testbed
from testbed.ramdisk import RamdiskArtifacts, RamdiskConfig, RamdiskError, build_ramdisk
from testbed.session import Session, open_session

REPO = Path(__file__).resolve().parents[2]
SKIP_ENV = "TEETH_SKIP_TESTBED"


@pytest.fixture(scope="session")
def testbed_session() -> Iterator[Session]:
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: VM testbed opted out")
    uri = os.environ.get("TEETH_TESTBED_URI")  # e.g. qemu:///system; default: embedded driver
    with open_session(REPO / ".cache" / "testbed", uri=uri, destroy_on_close=True) as session:
        yield session


@pytest.fixture
def testbed(testbed_session: Session) -> Testbed:
    return testbed_session.testbed


@pytest.fixture(scope="session")
def ramdisk(testbed_session: Session) -> RamdiskArtifacts:
    """The DIB ramdisk, built now if its inputs changed (minutes), else reused from .cache/ramdisk."""
    try:
        return build_ramdisk(RamdiskConfig.from_env(REPO, os.environ))
    except RamdiskError as exc:
        pytest.fail(f"the ramdisk could not be built: {exc}", pytrace=False)
