"""What `teeth-sim fleet` shows: a live rich table, or (--plain) one log line per change."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

Machine = dict[str, Any]
MAX_ROWS = 40


def _task(m: Machine) -> str:
    t = m.get("task")
    if not t:
        return ""
    pct = f" {t['percent']:.0f}%" if t["state"] == "running" else ""
    return f"{t['method']} {t['state']}{pct}"


def summary(machines: list[Machine]) -> str:
    links = Counter(m["link"] for m in machines)
    tasks = Counter((m["task"] or {}).get("state", "idle") for m in machines)
    oses = Counter(m["os"].split(" ")[0] for m in machines)
    parts = [f"{len(machines)} machines", "links " + ", ".join(f"{k} {v}" for k, v in sorted(links.items())),
             "tasks " + ", ".join(f"{k} {v}" for k, v in sorted(tasks.items())),
             "os " + ", ".join(f"{k} {v}" for k, v in sorted(oses.items()))]
    return "; ".join(parts)


def table(machines: list[Machine]) -> Group:
    t = Table(title="teeth-sim fleet", expand=False)
    for col in ("machine", "agent id", "profile", "link", "os", "task", "faults"):
        t.add_column(col)
    # Machines with something to look at first: a link not up, a task running or failed, a fault.
    ordered = sorted(machines, key=lambda m: (m["link"] == "up" and not m["faults"] and not m["task"],
                                              m["index"]))
    for m in ordered[:MAX_ROWS]:
        style = {"up": "green", "dialing": "yellow"}.get(m["link"], "red")
        t.add_row(m["machine"], m["agent_id"], m["profile"], Text(m["link"], style=style), m["os"], _task(m),
                  ", ".join(m["faults"]))
    more = len(machines) - MAX_ROWS
    footer = Text(summary(machines) + (f" ({more} more not shown)" if more > 0 else ""))
    return Group(t, footer)


def changes(before: dict[str, Machine], after: list[Machine]) -> list[str]:
    """Plain log lines for what changed between two snapshots."""
    lines = []
    for m in after:
        old = before.get(m["machine"])
        who = f"{m['machine']} {m['agent_id']}"
        if old is None or old["link"] != m["link"]:
            lines.append(f"{who}: link {m['link']}")
        if old is not None and old["boot_id"] != m["boot_id"]:
            lines.append(f"{who}: booted {m['os']} (boot id {m['boot_id']})")
        if (old is None and m["task"]) or (old is not None and old["task"] != m["task"] and m["task"]
                                           and (old["task"] or {}).get("state") != m["task"]["state"]):
            lines.append(f"{who}: task {m['task']['task_id']} {_task(m)}")
        if old is not None and len(old["faults"]) != len(m["faults"]):
            lines.append(f"{who}: fault {m['faults'][-1]}")
    return lines
