"""Shared fixtures for the Linux backend tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def data() -> Callable[[str], str]:
    """Read a captured (or documented, see tests/data/README.md) tool output by file name."""

    def read(name: str) -> str:
        return (DATA / name).read_text()

    return read
