"""Shared fixtures for the Linux backend tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from linux_loops import Loop, attach, detach

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def data() -> Callable[[str], str]:
    """Read a captured (or documented, see tests/data/README.md) tool output by file name."""

    def read(name: str) -> str:
        return (DATA / name).read_text()

    return read


@pytest.fixture
def make_loop(tmp_path: Path) -> Iterator[Callable[[int], Loop]]:
    """Attach loop devices over files in tmp_path; every one is detached afterwards, pass or fail."""
    attached: list[Loop] = []

    def make(size: int) -> Loop:
        loop = attach(tmp_path / f"disk{len(attached)}.img", size)
        attached.append(loop)
        return loop

    try:
        yield make
    finally:
        for loop in attached:
            detach(loop)
