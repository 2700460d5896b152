"""Scenarios: the shipped demo parses; malformed ones are rejected naming file, field and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.fleet.resources import bumped, fill_placeholders, qc_spec
from simulator.fleet.scenario import load_scenario
from simulator.machine.profile import load_profile
from simulator.machine.tomlread import SpecError


def test_demo_scenario_parses_and_overrides_apply() -> None:
    sc = load_scenario()
    assert sc.steps[0].method == "decom.disk_erase"
    assert {r.fault.kind for r in sc.faults} >= {"lying_disk", "drop_connection", "truncated_download"}
    small = load_scenario(machines=3, profile="vm", seed=5)
    assert small.machines == 3 and small.profiles == ("vm",) and small.seed == 5
    for rule in small.faults:
        assert all(0 <= i < 3 for i in rule.machines)


def test_fault_assignment_is_deterministic_and_respects_profile() -> None:
    a, b = load_scenario(machines=40), load_scenario(machines=40)
    assert [r.machines for r in a.faults] == [r.machines for r in b.faults]
    lying = next(r for r in a.faults if r.fault.kind == "lying_disk")
    assert all(a.profile_of(i) == "1u-nvme" for i in lying.machines)


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ('[fleet]\nmachines = "many"\n', "fleet.machines", "an integer"),
        ('[fleet]\nprofiles = ["nope"]\n', "(profile)", "one of 1u-nvme"),
        ('[fleet]\nspeed = 0\n', "fleet.speed", "a number > 0"),
        ('[image]\nsize = "1000"\n', "image.size", "a whole number of MiB"),
        ('[[steps]]\nmethod = "erase"\n', "steps[0].method", "a method name"),
        ('[[steps]]\nmethod = "decom.qc"\nparams = { spec = "@spec" }\n', "steps[0].params.spec",
         "a placeholder"),
        ('[[faults]]\nkind = "meteor"\n', "faults[0].kind", "one of io_error"),
        ('[[faults]]\nkind = "frozen"\ndisk = "sda"\nmachines = [99]\n', "faults[0].machines",
         "machine indices"),
        ('[[faults]]\nkind = "frozen"\n', "faults[0].disk", "a value"),
        ("[fleet]\nmachine = 3\n", "fleet.machine", "one of"),
    ],
)
def test_malformed_scenarios_are_rejected(tmp_path: Path, text: str, field: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as err:
        load_scenario(path)
    assert err.value.field == field and expected in err.value.expected
    assert str(path) in str(err.value) or field == "(profile)"


def test_resources_follow_the_profile() -> None:
    assert bumped("1.8.2") == "1.8.3" and bumped("SN02") == "SN02.1" and bumped("7") == "8"
    spec = qc_spec(load_profile("storage-12sata"))
    assert sum(d["count"] for d in spec["disks"]) == 13
    filled = fill_placeholders({"a": ["@x", {"b": "@x"}], "c": "@y"}, {"@x": 1})
    assert filled == {"a": [1, {"b": 1}], "c": "@y"}
