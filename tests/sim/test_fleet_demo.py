"""The fleet demo end to end: real agents and the reference endpoint over 127.0.0.1, simulated machines."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from simulator.fleet.demo import run_demo
from simulator.fleet.scenario import load_scenario

SCENARIO = """
[fleet]
machines = 3
profiles = ["vm", "1u-nvme"]
speed = 50000
timeout = 60
step_timeout = 30
[image]
size = "4MiB"
[[steps]]
method = "decom.disk_erase"
[[steps]]
method = "decom.qc"
params = { spec = "@qc_spec" }
[[steps]]
method = "standbye.prepare_image"
params = { image = "@image" }
[[steps]]
method = "vendor.no_such_method"
[[steps]]
method = "standbye.run_image"
params = { image_id = "@image_id", configdrive = "@configdrive" }
[[faults]]
kind = "lying_disk"
disk = "nvme0n1"
machines = [1]
[[faults]]
kind = "drop_connection"
at_message = 4
machines = [2]
[[faults]]
kind = "truncated_download"
at = "64KiB"
machines = [0]
"""


async def test_fleet_decommissions_and_boots_tenants_and_catches_the_lying_disk(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(SCENARIO)
    transcript = tmp_path / "run.jsonl"
    out = io.StringIO()
    report = await run_demo(load_scenario(path), record=transcript, live=False, console=Console(file=out))
    assert "fleet summary" in out.getvalue()
    machines = {m["index"]: m for m in report["machines"]}
    for index in (0, 2):
        m = machines[index]
        assert m["ok"], m
        assert m["running_os"] == "tenant via kexec"
        assert [s["outcome"] for s in m["steps"]][-2:] == ["not_advertised", "complete"]
    lying = machines[1]
    assert not lying["ok"] and lying["steps"][0]["outcome"] == "failed"
    assert lying["steps"][0]["summary"]["failed"] == ["/dev/nvme0n1"]
    assert lying["running_os"] == "ramdisk" and len(lying["steps"]) == 1
    assert report["totals"]["erase_methods"]["discard"] == 4
    lines = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert {e["machine"] for e in lines} == {"m00000", "m00001", "m00002"}
    assert any(e["dir"] == "meta" for e in lines)
    assert any(e["dir"] == "agent" and e["msg"].get("method") == "handshake" for e in lines)
