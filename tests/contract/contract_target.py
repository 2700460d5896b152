"""The contract suite's one fixture: `target`, parametrized over every Backend implementation.

Each module in `tests/contract/backends/` adds one param. A module defines:

    NAME = "sim"                                   # the param id
    def unavailable() -> str | None: ...           # optional: a reason to skip (e.g. "needs root")
    @contextlib.asynccontextmanager
    async def provide() -> AsyncIterator[tuple[Backend, str]]:
        yield backend, "/dev/path-of-a-scratch-disk"   # >= 64 MiB, contents may be destroyed

So the Linux backend joins by dropping `backends/linux.py` here (a loop device behind its allowlist), with
no change to the tests. (A uniquely named module rather than conftest.py: test dirs are not packages.)
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from teeth_agent.backend.api import Backend

BACKENDS_DIR = Path(__file__).parent / "backends"


@dataclass(frozen=True)
class Target:
    """A backend and a scratch disk it may destroy."""

    backend: Backend
    disk: str


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"contract_backend_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def providers() -> list[ModuleType]:
    return [_load(p) for p in sorted(BACKENDS_DIR.glob("*.py")) if not p.name.startswith("_")]


@pytest.fixture(name="target", params=providers(), ids=lambda m: str(m.NAME))
async def target_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    module: ModuleType = request.param
    reason = module.unavailable() if hasattr(module, "unavailable") else None
    if reason:
        pytest.skip(f"{module.NAME}: {reason}")
    async with module.provide() as (backend, disk):
        yield Target(backend, disk)
