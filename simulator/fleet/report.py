"""The fleet run's record: per machine, per step outcome, erase methods, durations; JSON and a summary.

Pure data and pure summaries: the runner fills `MachineRecord`s, the CLI prints `summary_rows` with rich
and writes `to_json` to the report path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StepOutcome:
    method: str
    task_id: str
    outcome: str  # complete | error | timeout | not_advertised | lost
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0
    error: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class MachineRecord:
    index: int
    agent_id: str
    profile: str
    serial: str
    faults: list[str]
    steps: list[StepOutcome] = field(default_factory=list)
    boot_ids: list[str] = field(default_factory=list)
    connections: int = 0
    state: str = "booting"  # booting | running | done | failed
    current: str = ""
    percent: float | None = None
    running_os: str = "ramdisk"
    sim_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == "done" and all(s.outcome in ("complete", "not_advertised") for s in self.steps)


def summarize_result(method: str, result: dict[str, Any]) -> dict[str, Any]:
    """The few facts of a task result worth a column: erase methods, QC verdict, boot action..."""
    if method.endswith("disk_erase"):
        certs = result.get("certificates", [])
        return {
            "passed": result.get("passed"),
            "methods": {c["device"]["path"]: c.get("method") for c in certs if isinstance(c, dict)},
            "failed": result.get("failed", []),
            "skipped": [s.get("device", {}).get("path") for s in result.get("skipped", [])],
        }
    if method.endswith(".qc"):
        checks = result.get("checks", [])
        failed = [c.get("name") for c in checks if isinstance(c, dict) and not c.get("passed")]
        return {"passed": result.get("passed"), "failed_checks": failed}
    if method.endswith("firmware_secure"):
        comps = [c for c in result.get("components", []) if isinstance(c, dict)]
        return {"passed": result.get("passed"), "reboot_required": result.get("reboot_required"),
                "components": {str(c.get("id")): c.get("outcome") for c in comps}}
    if method.endswith("run_image"):
        return {k: result[k] for k in ("action", "boot_mode", "kexec") if k in result}
    keys = ("passed", "reboot_required", "cached", "image_id", "device", "bytes_written")
    return {k: result[k] for k in keys if k in result}


def verdict(method: str, state: str, summary: dict[str, Any]) -> str:
    """A step's outcome: the task's final state, or "failed" when it completed but found a problem
    (a disk not erased, a QC check that failed, a firmware flash that failed) — stop before standby."""
    if state != "complete":
        return state
    if method.endswith(("disk_erase", ".qc")) and summary.get("passed") is False:
        return "failed"
    if "failed" in summary.get("components", {}).values():
        return "failed"
    return state


def reason(step: StepOutcome) -> str:
    """One line on why a step did not succeed."""
    if step.error:
        return str(step.error.get("msg") or step.error.get("type") or "")
    s = step.summary
    if s.get("failed"):
        return "not erased: " + ", ".join(map(str, s["failed"]))
    if s.get("failed_checks"):
        return "QC failed: " + ", ".join(map(str, s["failed_checks"]))
    bad = [k for k, v in s.get("components", {}).items() if v == "failed"]
    return "flash failed: " + ", ".join(bad) if bad else step.outcome


def to_json(records: list[MachineRecord], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "totals": totals(records),
        "machines": [{**asdict(r), "ok": r.ok} for r in records],
    }


def totals(records: list[MachineRecord]) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    for r in records:
        for s in r.steps:
            outcomes[f"{s.method}:{s.outcome}"] += 1
            for m in s.summary.get("methods", {}).values():
                methods[str(m)] += 1
    faults: dict[str, dict[str, int]] = {}
    for r in records:
        for f in r.faults:
            kind = f.split("(")[0]
            entry = faults.setdefault(kind, {"machines": 0, "ok": 0})
            entry["machines"] += 1
            entry["ok"] += r.ok
    return {
        "machines": len(records),
        "ok": sum(r.ok for r in records),
        # Per fault kind: machines that had it, and how many still came through (a recoverable fault).
        "faults": dict(sorted(faults.items())),
        "failed": sum(not r.ok for r in records),
        "step_outcomes": dict(sorted(outcomes.items())),
        "erase_methods": dict(methods.most_common()),
        "tenants_running": sum(r.running_os.startswith("tenant") for r in records),
    }


def summary_rows(records: list[MachineRecord]) -> list[tuple[str, ...]]:
    """One row per (profile): machines, ok, failed steps, erase methods, mean sim/wall duration."""
    rows: list[tuple[str, ...]] = []
    for profile in sorted({r.profile for r in records}):
        group = [r for r in records if r.profile == profile]
        methods: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        for r in group:
            for s in r.steps:
                methods.update(str(m) for m in s.summary.get("methods", {}).values())
                if s.outcome not in ("complete", "not_advertised"):
                    failed[f"{s.method.split('.')[-1]}:{s.outcome}"] += 1
        sim = sum(r.sim_seconds for r in group) / len(group)
        wall = sum(r.wall_seconds for r in group) / len(group)
        rows.append((
            profile, str(len(group)), str(sum(r.ok for r in group)),
            ", ".join(f"{k} x{v}" for k, v in failed.most_common()) or "-",
            ", ".join(f"{k} x{v}" for k, v in methods.most_common()) or "-",
            f"{sim / 3600:.1f} h", f"{wall:.1f} s",
        ))
    return rows
