"""Put a rendered plan in place: networkd files in /run, and the report the agent reads for `status`.

/run is the right home: it is the ramdisk's own, empty at every boot, and networkd reads it beside /etc.
Files are written before systemd-networkd starts (the unit orders itself so), so no reload is needed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from teeth_agent.backend.linux.network_report import REPORT_PATH, read_report
from teeth_agent.netconfig.model import NetworkPlan
from teeth_agent.netconfig.networkd import Rendered

NETWORKD_DIR = Path("/run/systemd/network")


def write_files(rendered: Rendered, directory: Path = NETWORKD_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*teeth-*"):
        old.unlink()  # a second run (a restart of the unit) replaces, never adds
    written = []
    for name, text in sorted(rendered.files.items()):
        path = directory / name
        path.write_text(text)
        path.chmod(0o644)
        written.append(path)
    return written


def report(plan: NetworkPlan, rendered: Rendered) -> dict[str, Any]:
    out = plan.to_json()
    out["wait_for"] = list(rendered.wait_for)
    out["unresolved"] = list(rendered.unresolved)
    out["files"] = sorted(rendered.files)
    return out


def write_report(data: dict[str, Any], path: Path = REPORT_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    scratch.replace(path)

__all__ = ["NETWORKD_DIR", "REPORT_PATH", "read_report", "report", "write_files", "write_report"]
