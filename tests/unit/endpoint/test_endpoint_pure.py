"""Pure pieces of the endpoint: param readers, fleet bookkeeping, listen URLs, text output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from teeth_endpoint.control import default_control_path
from teeth_endpoint.display import format_agents, format_log, format_seconds, render
from teeth_endpoint.fleet import AgentTable
from teeth_endpoint.listen_url import ListenUrl, parse_listen_url
from teeth_endpoint.wire import BadParams, parse_handshake, parse_log, parse_task_status

HS: dict[str, Any] = {"agent_id": "a1", "boot_id": "b1", "agent_version": "1", "backend": "sim",
                      "methods": ["ping"], "tasks": []}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"agent_id": ""}, "agent_id"),
        ({"agent_id": 3}, "agent_id"),
        ({"boot_id": None}, "boot_id"),
        ({"methods": "ping"}, "methods"),
        ({"tasks": [{"no": "id"}]}, "tasks"),
        ({"token": 5}, "token"),
        ({"agent_id": "x" * 300}, "agent_id"),
        ({"methods": ["m"] * 2000}, "methods"),
        ({"methods": ["m" * 200]}, "methods"),
    ],
)
def test_handshake_params_name_the_bad_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(BadParams) as info:
        parse_handshake({**HS, **change})
    assert info.value.field == field


def test_handshake_reads_every_field() -> None:
    hs = parse_handshake({**HS, "token": "t", "tasks": [{"task_id": "x"}]})
    assert (hs.agent_id, hs.methods, hs.tasks, hs.token) == ("a1", ("ping",), ({"task_id": "x"},), "t")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"task_id": "t", "seq": "1", "state": "running"}, "seq"),
        ({"task_id": "t", "seq": True, "state": "running"}, "seq"),
        ({"task_id": "t", "seq": 1, "state": "paused"}, "state"),
        ({"task_id": "t", "seq": 1, "state": "running", "percent": 101}, "percent"),
        ({"task_id": "t", "seq": 1, "state": "running", "eta": "soon"}, "eta"),
        ({"task_id": "t", "seq": 1, "state": "complete", "result": []}, "result"),
        ({"seq": 1, "state": "complete"}, "task_id"),
    ],
)
def test_task_status_params_name_the_bad_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(BadParams) as info:
        parse_task_status(params)
    assert info.value.field == field


def test_log_params() -> None:
    rec = parse_log("a1", {"level": "WARNING", "msg": "m", "time": 5, "logger": "x", "fields": {"k": 1}})
    assert (rec.level, rec.time, rec.fields, rec.task_id) == ("warning", 5.0, {"k": 1}, None)
    with pytest.raises(BadParams, match="msg"):
        parse_log("a1", {"level": "info"})
    with pytest.raises(BadParams, match="fields"):
        parse_log("a1", {"level": "info", "msg": "m", "fields": [1]})


def status(seq: int, state: str = "running", task_id: str = "t1") -> Any:
    return parse_task_status({"task_id": task_id, "method": "m", "seq": seq, "state": state})


def test_fleet_dedupes_by_seq_and_stops_after_a_final_status() -> None:
    fleet = AgentTable()
    assert fleet.record("a1", status(1), 1.0) is not None
    assert fleet.record("a1", status(1), 2.0) is None  # duplicate
    assert fleet.record("a1", status(0), 2.0) is None  # stale
    assert fleet.record("a1", status(3, "complete"), 3.0) is not None
    assert fleet.record("a1", status(4), 4.0) is None  # nothing follows a final status
    view = fleet.task("t1")
    assert view is not None and (view.seq, view.final, view.updated) == (3, True, 3.0)


def test_fleet_forgets_the_oldest_finished_tasks_first() -> None:
    fleet = AgentTable(max_tasks=10)
    for i in range(5):
        fleet.record("a1", status(1, "complete", f"done-{i}"), float(i))
    for i in range(6):
        fleet.record("a1", status(1, "running", f"open-{i}"), 10.0 + i)
    kept = {t.task_id for t in fleet.tasks()}
    assert kept == {"done-2", "done-3", "done-4"} | {f"open-{i}" for i in range(6)}


def test_fleet_stays_bounded_when_flooded_with_open_tasks() -> None:
    fleet = AgentTable(max_tasks=10)
    for i in range(11):
        fleet.record("a1", status(1, "running", f"open-{i}"), float(i))
    assert [t.task_id for t in fleet.tasks()] == [f"open-{i}" for i in range(2, 11)]


def test_fleet_forgets_the_longest_gone_agents_past_its_bound() -> None:
    fleet = AgentTable(max_agents=2)
    for n, agent_id in enumerate(["a1", "a2"]):
        fleet.connected(parse_handshake({**HS, "agent_id": agent_id}), "p", float(n))
        fleet.disconnected(agent_id, float(n))
    fleet.connected(parse_handshake({**HS, "agent_id": "a3"}), "p", 5.0)
    assert [a.agent_id for a in fleet.agents()] == ["a2", "a3"]


def test_fleet_counts_reboots_and_disconnects() -> None:
    fleet = AgentTable()
    fleet.connected(parse_handshake(HS), "p1", 1.0)
    _, rebooted = fleet.connected(parse_handshake(HS), "p2", 2.0)
    assert not rebooted
    info, rebooted = fleet.connected(parse_handshake({**HS, "boot_id": "b2"}), "p3", 3.0)
    assert rebooted and info.boots == 2
    fleet.disconnected("a1", 4.0)
    gone = fleet.agent("a1")
    assert gone is not None and (gone.connected, gone.since, gone.peer) == (False, 4.0, "p3")


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("tcp://127.0.0.1:0", ListenUrl("tcp", "127.0.0.1", 0)),
        ("tls://[::1]:9443", ListenUrl("tls", "::1", 9443)),
        ("unix:///run/teeth.sock", ListenUrl("unix", path="/run/teeth.sock")),
    ],
)
def test_listen_urls(url: str, parsed: ListenUrl) -> None:
    assert parse_listen_url(url) == parsed


@pytest.mark.parametrize(
    ("url", "msg"),
    [
        ("http://x:1", "scheme"),
        ("tcp://127.0.0.1", "missing port"),
        ("tcp://:80", "missing host"),
        ("tcp://h:99999", "port must be"),
        ("tcp://h:1/path", "nothing after"),
        ("unix://relative.sock", "ABSOLUTE"),
    ],
)
def test_bad_listen_urls_say_what_is_wrong(url: str, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_listen_url(url)


def test_progress_bar_rendering() -> None:
    line = render({"task_id": "t1", "method": "decom.qc", "percent": 50, "eta": 3725})
    assert line.startswith("[" + "#" * 15 + "." * 15 + "]") and " 50.0%" in line and "eta 1h02m" in line
    assert "eta ?" in render({"percent": None, "eta": None}) and "  0.0%" in render({})
    assert [format_seconds(s) for s in (0, 59.6, 61, 7200)] == ["0s", "1m00s", "1m01s", "2h00m"]


def test_agent_table_and_log_lines() -> None:
    agents = [{"agent_id": "a1", "connected": True, "boot_id": "0123456789abcdef", "backend": "sim",
               "agent_version": "1", "peer": "127.0.0.1:5"}]  # fmt: skip
    assert format_agents(agents).splitlines()[1].split() == ["a1", "connected", "0123456789ab", "sim", "1",
                                                             "127.0.0.1:5"]  # fmt: skip
    rec = {"agent_id": "a1", "level": "error", "logger": "x", "task_id": None, "msg": "m"}
    assert format_log(rec) == "a1 ERROR   x: m"


def test_control_path_prefers_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TEETH_CONTROL", "/somewhere/ctl.sock")
    assert default_control_path() == "/somewhere/ctl.sock"
    monkeypatch.delenv("TEETH_CONTROL")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_control_path() == str(tmp_path / "teeth-endpoint.sock")
