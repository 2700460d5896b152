"""Fixtures for the VM testbed. Booting tests need QEMU and libvirt: missing either is a failure,
never a skip, unless TEETH_SKIP_TESTBED=1 says the run opts out of the testbed explicitly."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
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


@pytest.fixture
def sh_behind_socket() -> Iterator[Callable[[Path], Path]]:
    """A stand-in for a guest's shell channel: a real `sh` serving one connection on a unix socket,
    as the ramdisk's shell loop serves its virtio-serial port (no terminal; stdin and stdout one stream)."""
    started: list[tuple[socket.socket, threading.Thread]] = []

    def start(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        listener.listen(1)

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                fd = conn.fileno()
                subprocess.run(["sh"], stdin=fd, stdout=fd, stderr=fd, check=False, timeout=60)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        started.append((listener, thread))
        return path

    yield start
    for listener, thread in started:
        listener.close()
        thread.join(10)
