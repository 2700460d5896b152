"""Where the ramdisk's network plan is reported (written by teeth_agent.netconfig at boot, read here for
inventory): one JSON file in /run, readable without starting a process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPORT_PATH = Path("/run/teeth-agent/network.json")


def read_report(path: Path = REPORT_PATH) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
