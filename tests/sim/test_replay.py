"""Recorded transcripts are regression tests: replaying one against today's agent must match it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from simulator.fleet.replay import parse_transcript, read_transcript, replay

TRANSCRIPTS = Path(__file__).parent / "transcripts"
TRANSCRIPT = TRANSCRIPTS / "small-fleet.jsonl"


# demo-4.jsonl: `teeth-sim demo --plain --machines 4 --record ...` (the demo scenario, one machine per
# profile, its faults included); small-fleet.jsonl: small-fleet.toml.
@pytest.mark.parametrize("path", sorted(TRANSCRIPTS.glob("*.jsonl")), ids=lambda p: p.stem)
async def test_recorded_transcripts_replay_without_differences(path: Path) -> None:
    assert await replay(read_transcript(path)) == []


def test_transcript_parses_into_commands_with_their_final_statuses() -> None:
    machines = parse_transcript(read_transcript(TRANSCRIPT))
    assert set(machines) == {"m00000", "m00001"}
    vm = machines["m00000"]
    assert vm.meta["profile"] == "vm"
    methods = [c.method for c in vm.calls]
    assert methods[:2] == ["decom.disk_erase", "decom.qc"] and "standbye.run_image" in methods
    erase = vm.calls[methods.index("decom.disk_erase")]
    assert erase.reply == "result" and erase.final is not None and erase.final["state"] == "complete"


async def test_a_changed_machine_is_reported_as_a_difference() -> None:
    lines = read_transcript(TRANSCRIPT)
    changed = copy.deepcopy(lines)
    for entry in changed:
        if entry["dir"] == "meta" and entry["machine"] == "m00000":
            entry["msg"]["faults"].append({"kind": "lying_disk", "disk": "vdb", "offset": 0, "length": 0,
                                           "op": "both", "component": None, "rate": 0, "at": 0})
    only_vm = [e for e in changed if e["machine"] == "m00000"]
    diffs = await replay(only_vm)
    assert [d["method"] for d in diffs] == ["decom.disk_erase"]
    assert diffs[0]["actual"]["summary"]["failed"] == ["/dev/vdb"]
