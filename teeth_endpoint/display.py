"""Plain-text output of the endpoint's tools (the agent package carries no rich): a progress bar for
`teeth-ctl task`, the agents table and log lines.

On a terminal the bar redraws one line with `\\r`; otherwise it prints a line per change (readable logs).
"""

from __future__ import annotations

from typing import Any, TextIO

WIDTH = 30


def render(status: dict[str, Any], width: int = WIDTH) -> str:
    """`[#######.......]  42.5%  eta 1m05s  decom.disk_erase t-1` for a `running` status."""
    percent = status.get("percent")
    pct = min(max(float(percent), 0.0), 100.0) if isinstance(percent, int | float) else 0.0
    filled = int(width * pct / 100)
    eta = status.get("eta")
    eta_text = format_seconds(float(eta)) if isinstance(eta, int | float) else "?"
    name = f"{status.get('method', '')} {status.get('task_id', '')}".strip()
    return f"[{'#' * filled}{'.' * (width - filled)}] {pct:5.1f}%  eta {eta_text}  {name}"


def format_seconds(seconds: float) -> str:
    s = max(round(seconds), 0)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class ProgressBar:
    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._drawn = False

    def update(self, status: dict[str, Any]) -> None:
        line = render(status)
        if self._tty:
            self._out.write("\r" + line)
            self._drawn = True
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def note(self, text: str) -> None:
        """A line of its own between updates (the bar is redrawn by the next update)."""
        self.finish()
        self._out.write(text + "\n")
        self._out.flush()

    def finish(self) -> None:
        if self._drawn:
            self._out.write("\n")
            self._out.flush()
            self._drawn = False


def format_agents(agents: list[dict[str, Any]]) -> str:
    rows = [("AGENT", "STATE", "BOOT", "BACKEND", "VERSION", "PEER")]
    for a in agents:
        state = "connected" if a["connected"] else "gone"
        rows.append((a["agent_id"], state, a["boot_id"][:12], a["backend"], a["agent_version"], a["peer"]))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines)


def format_log(rec: dict[str, Any]) -> str:
    task = f" [{rec['task_id']}]" if rec.get("task_id") else ""
    return f"{rec['agent_id']} {str(rec['level']).upper():7} {rec['logger']}{task}: {rec['msg']}"
