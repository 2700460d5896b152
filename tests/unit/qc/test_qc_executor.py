"""decom.qc as a task: inventory + verdict, bounded burn-in with progress."""

from __future__ import annotations

from typing import Any

from qc_fakes import FakeMachine, make_ctx

from teeth_agent.commands.decom import TASKS
from teeth_agent.qc.burnin import read_offsets

SPEC = {t.method: t for t in TASKS}["decom.qc"]


async def qc(m: FakeMachine, progress: list[tuple[float, float]] | None = None, **params: Any) -> Any:
    return await SPEC.run(make_ctx(m, [] if progress is None else progress), SPEC.validate(params))  # type: ignore[arg-type]


async def test_result_carries_verdict_checks_and_inventory() -> None:
    result = await qc(FakeMachine(), spec={"cpu": {"count": 4}, "nics": {"count": 2}})
    assert result["passed"] is False and result["failed"] == ["cpu.count"]
    assert [c["name"] for c in result["checks"]] == ["cpu.count", "nics.count"]
    assert result["inventory"]["dmi"]["product"] == "PowerEdge R640"
    assert [f["id"] for f in result["inventory"]["firmware"]] == ["bios", "nvme0", "nvme1"]


async def test_burnin_reads_every_installed_disk_with_progress() -> None:
    m = FakeMachine()
    seen: list[tuple[float, float]] = []
    result = await qc(m, seen, spec={}, burnin={"disk_read": {"samples": 5}})
    assert result["passed"]
    assert {p for p, _ in m.reads} == {"/dev/nvme0n1", "/dev/nvme1n1", "/dev/sda"}
    assert seen[-1] == (15, 15)


async def test_burnin_read_error_fails_that_disk_by_name() -> None:
    m = FakeMachine(bad_reads={"/dev/sda": (0, 1 << 20)})
    result = await qc(m, spec={}, burnin={"disk_read": {"samples": 5}})
    assert result["failed"] == ["burnin.disk_read./dev/sda"]
    bad = next(c for c in result["checks"] if c["name"] == "burnin.disk_read./dev/sda")
    assert bad["actual"]["errors"][0]["offset"] == 0


async def test_burnin_stops_at_its_time_budget_without_failing() -> None:
    m = FakeMachine(seconds_per_read=10.0)
    result = await qc(m, spec={}, burnin={"disk_read": {"samples": 100, "max_seconds": 25}})
    assert result["passed"] and len(m.reads) == 3
    actual = [c["actual"] for c in result["checks"]]
    assert actual[0]["time_limit_reached"] or actual[1]["time_limit_reached"]


def test_read_offsets_include_both_ends_and_stay_inside() -> None:
    offs = read_offsets(10 << 20, 512, 1 << 20, 8, seed=3)
    assert offs[:2] == (0, 9 << 20) and len(offs) <= 8
    assert all(o % 512 == 0 and o + (1 << 20) <= 10 << 20 for o in offs)
