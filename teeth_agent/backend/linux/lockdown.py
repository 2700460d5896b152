"""Kernel lockdown (the mode a Secure Boot kernel runs in) and what it means for kexec.

Under lockdown `kexec_load` is refused; only `kexec_file_load` (`kexec -s`) of a kernel signed by a key
the kernel trusts works. The mode reads from securityfs as e.g. `none [integrity] confidentiality`.
"""

from __future__ import annotations

from pathlib import Path

LOCKDOWN_FILE = "sys/kernel/security/lockdown"
MODES = ("none", "integrity", "confidentiality")


def parse_lockdown(text: str) -> str | None:
    """The bracketed (active) mode, or None when the text is not securityfs's lockdown file."""
    for word in text.split():
        if word.startswith("[") and word.endswith("]") and word[1:-1] in MODES:
            return word[1:-1]
    return None


def read_lockdown(root: Path) -> str | None:
    """The active mode; None where the kernel has no lockdown LSM or securityfs is not mounted."""
    try:
        return parse_lockdown((root / LOCKDOWN_FILE).read_text())
    except OSError:
        return None


def needs_signed_kexec(mode: str | None) -> bool:
    return mode is not None and mode != "none"
