"""Protocol core: decode + validate + encode, messages per second on one core.

The stream is a realistic endpoint-side mix: task_status and log commands from an agent (each answered
with a success the session encodes), pings, and successes answering the endpoint's own commands. Measured:
bytes -> Session.receive_data -> events -> Session.send(response) -> bytes. Baseline, same lines, same run:
plain json.loads + json.dumps (no framing, no validation, no pending-id bookkeeping). Rates are per
CPU-second of this process (time.process_time), so other work on the machine does not skew them.
"""

from __future__ import annotations

import json
import time

from benchmarks.figure import Figure
from teeth_agent.protocol import NEED_DATA, Command, Role, Session, Success, encode

GOAL = 100_000
BATCH = 1000


def agent_lines(batch: int) -> tuple[bytes, list[str]]:
    """One batch of what an agent sends, as one byte string, and the ids of endpoint commands it answers."""
    lines: list[bytes] = []
    answered: list[str] = []
    for i in range(batch):
        kind = i % 4
        if kind == 0:
            params = {"task_id": "t-1", "method": "decom.disk_erase", "seq": i, "state": "running",
                      "percent": round(i / batch * 100, 1), "eta": 120.5}  # fmt: skip
            lines.append(encode(Command(f"a{i}", "task_status", params)))
        elif kind == 1:
            params = {"level": "info", "msg": f"wrote {i} MiB to /dev/sda", "time": 1764400000.5,
                      "logger": "teeth_agent.erase", "task_id": "t-1"}  # fmt: skip
            lines.append(encode(Command(f"a{i}", "log", params)))
        elif kind == 2:
            lines.append(encode(Command(f"a{i}", "ping", {"t": i})))
        else:
            answered.append(f"e{i}")
            lines.append(encode(Success(f"e{i}", {"uptime": 12.5, "boot_id": "b1", "tasks": []})))
    return b"".join(lines), answered


def measure_session(seconds: float) -> tuple[float, int]:
    data, answered = agent_lines(BATCH)
    handshake = encode(Command("h", "handshake", {"agent_id": "bench"}))
    session = Session(Role.ENDPOINT)
    session.receive_data(handshake)
    session.send(Success(session.next_event().id, {"accepted": True}))  # type: ignore[union-attr]
    count, out_bytes = 0, 0
    started = time.process_time()
    deadline = started + seconds
    while time.process_time() < deadline:
        for msg_id in answered:  # the endpoint's commands these successes answer
            session.send(Command(msg_id, "status"))
        session.receive_data(data)
        while (event := session.next_event()) is not NEED_DATA:
            if type(event) is Command:
                out_bytes += len(session.send(Success(event.id, {})))
            count += 1
    return count / (time.process_time() - started), out_bytes


def measure_json(seconds: float) -> float:
    data, _ = agent_lines(BATCH)
    lines = data.splitlines()
    count = 0
    started = time.process_time()
    deadline = started + seconds
    while time.process_time() < deadline:
        for line in lines:
            json.dumps(json.loads(line))
        count += len(lines)
    return count / (time.process_time() - started)


def run(quick: bool) -> list[Figure]:
    seconds = 0.5 if quick else 3.0
    measure_session(0.2)  # warm-up
    ours, _ = measure_session(seconds)
    baseline = measure_json(seconds)
    return [
        Figure(
            name="protocol core: decode+validate+encode",
            value=ours,
            unit="msgs/s",
            baseline=baseline,
            baseline_name="json.loads+json.dumps",
            goal=f">= {GOAL // 1000}k msgs/s",
            met=ours >= GOAL,
            note="per CPU-second of one process (robust to a busy machine); endpoint-side Session: "
            "framing, validation, pending ids, responses encoded; mix of task_status/log/ping/success",
        )
    ]


if __name__ == "__main__":
    from benchmarks.figure import format_table

    print(format_table(run(quick=False)))
