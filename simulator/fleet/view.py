"""Live progress and the final summary of a fleet run, rendered with rich."""

from __future__ import annotations

from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from simulator.fleet.report import MachineRecord, StepOutcome, reason, summary_rows, totals

MAX_ROWS = 12


def _bar(percent: float | None, width: int = 20) -> str:
    if percent is None:
        return ""
    filled = int(width * min(100.0, max(0.0, percent)) / 100)
    return "█" * filled + "░" * (width - filled) + f" {percent:5.1f}%"


def live_view(records: list[MachineRecord], *, sim_seconds: float, wall_seconds: float) -> RenderableType:
    states = Counter(r.state for r in records)
    steps = Counter(r.current for r in records if r.state == "running" and r.current)
    head = Text.assemble(
        ("teeth-sim ", "bold"),
        f"{len(records)} machines  ",
        ("done ", "green"), str(states["done"]), "  ",
        ("running ", "cyan"), str(states["running"]), "  ",
        ("booting ", "yellow"), str(states["booting"]), "  ",
        ("failed ", "red"), str(states["failed"]), "  ",
        f"simulated {sim_seconds / 3600:.1f} h in {wall_seconds:.1f} s wall",
    )
    per_step = Text("  ".join(f"{m}: {n}" for m, n in steps.most_common()) or "")
    table = Table(box=None, pad_edge=False, expand=False)
    for col in ("machine", "profile", "step", "progress", "faults"):
        table.add_column(col)
    active = [r for r in records if r.state == "running"]
    for r in active[:MAX_ROWS]:
        table.add_row(f"#{r.index}", r.profile, r.current, _bar(r.percent), ", ".join(r.faults) or "")
    if len(active) > MAX_ROWS:
        table.add_row(f"... {len(active) - MAX_ROWS} more", "", "", "", "")
    return Group(head, per_step, table)


def summary_table(records: list[MachineRecord]) -> Table:
    table = Table(title="fleet summary (times are means per machine)", show_lines=False)
    for col in ("profile", "machines", "ok", "failed steps", "erase methods", "sim time", "wall time"):
        table.add_column(col)
    for row in summary_rows(records):
        table.add_row(*row)
    return table


def failures_table(records: list[MachineRecord], limit: int = 15) -> Table | None:
    bad: list[tuple[MachineRecord, StepOutcome | None]] = [
        (r, s) for r in records for s in r.steps if s.outcome not in ("complete", "not_advertised")
    ]
    bad += [(r, None) for r in records if r.state != "done" and not any(x is r for x, _ in bad)]
    if not bad:
        return None
    table = Table(title="failures (expected where a fault was injected)")
    for col in ("machine", "faults", "step", "outcome", "error"):
        table.add_column(col)
    for r, s in bad[:limit]:
        if s is None:
            table.add_row(f"#{r.index}", ", ".join(r.faults), r.current or "-", r.state, "")
        else:
            msg = reason(s)[:90]
            table.add_row(f"#{r.index}", ", ".join(r.faults), s.method, s.outcome, msg)
    return table


def totals_text(records: list[MachineRecord]) -> Text:
    t = totals(records)
    faults = ", ".join(f"{k} {v['ok']}/{v['machines']}" for k, v in t["faults"].items()) or "none"
    return Text(f"{t['ok']}/{t['machines']} machines ok; tenants running: {t['tenants_running']}; "
                f"erase methods: {t['erase_methods']}\nfaults (machines still ok / with it): {faults}")
