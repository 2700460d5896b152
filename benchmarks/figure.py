"""One measured figure, printed beside the baseline it is judged against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str  # what was measured, e.g. "protocol core: decode+validate+encode"
    value: float
    unit: str  # "msgs/s", "ms", "MiB/s", ...
    baseline: float | None = None  # the same quantity for the baseline, measured in the same run
    baseline_name: str = ""  # what the baseline is, e.g. "json.loads+json.dumps"
    goal: str = ""  # human-readable goal, e.g. ">= 100k msgs/s"
    met: bool | None = None  # whether the goal was met (None: no goal, or not judged)
    note: str = ""  # anything a reader needs to interpret the figure (sizes, counts, caveats)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


def format_value(value: float, unit: str) -> str:
    if abs(value) >= 100_000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def format_table(figures: list[Figure]) -> str:
    rows = [("figure", "value", "baseline", "ratio", "goal", "met")]
    for f in figures:
        base = "" if f.baseline is None else format_value(f.baseline, f.unit)
        if f.baseline_name:
            base = f"{base} ({f.baseline_name})" if base else f.baseline_name
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}x"
        met = {True: "yes", False: "NO", None: ""}[f.met]
        rows.append((f.name, format_value(f.value, f.unit), base, ratio, f.goal, met))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))
