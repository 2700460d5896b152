"""Helpers and fixtures for the standby flows on the simulator (a uniquely named module, not a conftest:
test directories here are not packages, so two conftest modules would clash when imported by name)."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from teeth_agent.tasks.context import TaskContext


def _load(name: str) -> Any:
    """The image server lives with the unit tests; load it by path (tests are not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parents[2] / "unit" / "images" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


image_server = _load("image_server")


@pytest.fixture(name="server")
async def server_fixture() -> AsyncIterator[Any]:
    async with image_server.ImageServer() as srv:
        yield srv


@pytest.fixture(name="vm")
def vm_fixture() -> SimBackend:
    return make_backend("vm", seed=3, clock=SimClock(speed=1e6))


def profile_with_disks(tmp_path: Path, *sizes: str) -> Path:
    """The shipped `vm` profile with its disks replaced by virtio disks of `sizes` (e.g. "8GiB")."""
    shipped = (Path(__file__).parents[3] / "simulator" / "machine" / "profiles" / "vm.toml").read_text()
    head, _, rest = shipped.partition("[[disks]]")
    tail = rest[rest.index("[[firmware]]") :]
    disks = "".join(
        f'[[disks]]\ntransport = "virtio"\nmodel = "QEMU HARDDISK"\nsize = "{size}"\n'
        "throughput_mbps = 800\n\n"
        for size in sizes
    )
    path = tmp_path / "profile.toml"
    path.write_text(head + disks + tail)
    return path


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[float, float]] = []

    def __call__(self, done: float, total: float) -> None:
        self.calls.append((done, total))


def make_ctx(backend: SimBackend, state_dir: Path, method: str) -> TaskContext:
    log = logging.LoggerAdapter(logging.getLogger("test.standby"), {"task_id": "t1"})
    return TaskContext("t1", method, backend, Progress(), log, state_dir)
