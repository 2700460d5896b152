"""Kernel lockdown as securityfs shows it (the format of security/lockdown/lockdown.c's read handler)."""

from __future__ import annotations

from pathlib import Path

import pytest

from teeth_agent.backend.linux.lockdown import needs_signed_kexec, parse_lockdown, read_lockdown


@pytest.mark.parametrize(
    ("text", "mode"),
    [("[none] integrity confidentiality\n", "none"), ("none [integrity] confidentiality\n", "integrity"),
     ("none integrity [confidentiality]\n", "confidentiality"), ("", None), ("garbage [x]\n", None)],
)
def test_the_bracketed_mode_is_the_active_one(text: str, mode: str | None) -> None:
    assert parse_lockdown(text) == mode


def test_no_securityfs_means_no_lockdown_known(tmp_path: Path) -> None:
    assert read_lockdown(tmp_path) is None
    assert not needs_signed_kexec(None) and not needs_signed_kexec("none")
    assert needs_signed_kexec("integrity") and needs_signed_kexec("confidentiality")
