"""The teeth-sim command line rejects bad input before starting anything; the simulated clock's contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.cli import main
from simulator.machine.clock import SimClock


def test_malformed_scenario_exits_2_naming_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[fleet]\nspeed = "fast"\n')
    assert main(["demo", "--scenario", str(bad), "--report", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "fleet.speed" in err and "expected a number" in err
    assert not (tmp_path / "r.json").exists()


def test_bad_options_and_unknown_profiles_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--machines", "0"]) == 2
    assert main(["demo", "--profile", "mainframe"]) == 2
    assert "mainframe" in capsys.readouterr().err


def test_profiles_lists_the_shipped_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("1u-nvme", "storage-12sata", "old-sas", "vm"))


async def test_clock_runs_fast_and_sleeps_exactly() -> None:
    clock = SimClock(speed=10_000)
    start = clock.monotonic()
    await clock.sleep(100.0)  # 10 ms of wall time
    assert clock.monotonic() - start >= 100.0
    with pytest.raises(ValueError):
        SimClock(speed=0)
