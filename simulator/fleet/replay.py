"""`teeth-sim replay FILE`: play a recorded transcript back against a fresh simulated agent.

A transcript (`teeth-sim demo --record FILE`) holds, per machine, a "meta" line (profile, seed, serial,
hardware faults, image) and every protocol line both ways. Replay rebuilds each machine, starts the
reference endpoint and a real agent, re-issues the endpoint's commands in order (tasks via run_task, with
the same task ids) and compares what matters: success or error (and its type) for each command, and for a
task its final state and summary (erase method per disk, QC verdict, boot action). Volatile values (ids
of boots, timestamps, digests, durations) are not compared.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.fleet.image_server import ImageServer
from simulator.fleet.real_agents import RealAgents, reference_endpoint
from simulator.fleet.report import summarize_result, verdict
from simulator.fleet.resources import firmware_param, publish_image
from simulator.machine.backend import make_backend
from simulator.machine.clock import SimClock
from simulator.machine.faults import Fault
from teeth_agent.connection import CommandFailed
from teeth_endpoint.api import Endpoint

JsonObject = dict[str, Any]
SKIP = ("ping", "handshake")


@dataclass
class RecordedCall:
    method: str
    params: JsonObject
    reply: str = "none"  # result | error:<type> | none
    final: JsonObject | None = None


@dataclass
class MachineTranscript:
    meta: JsonObject = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)


def parse_transcript(lines: list[JsonObject]) -> dict[str, MachineTranscript]:
    machines: dict[str, MachineTranscript] = {}
    pending: dict[tuple[str, str], RecordedCall] = {}
    finals: dict[str, JsonObject] = {}
    for e in lines:
        m, msg = machines.setdefault(e["machine"], MachineTranscript()), e["msg"]
        if e["dir"] == "meta":
            m.meta = msg
        elif not isinstance(msg, dict):
            continue
        elif e["dir"] == "endpoint" and "method" in msg and msg["method"] not in SKIP:
            call = RecordedCall(msg["method"], dict(msg.get("params") or {}))
            m.calls.append(call)
            pending[(e["machine"], str(msg.get("id")))] = call
        elif e["dir"] == "agent" and "method" not in msg:
            found = pending.pop((e["machine"], str(msg.get("id"))), None)
            if found is not None:
                found.reply = "result" if "result" in msg else f"error:{msg.get('error', {}).get('type')}"
        elif e["dir"] == "agent" and msg.get("method") == "task_status":
            params = msg.get("params") or {}
            if params.get("state") in ("complete", "error"):
                finals[str(params.get("task_id"))] = params
    for m in machines.values():
        for call in m.calls:
            call.final = finals.get(str(call.params.get("task_id")))
    return machines


def _essence(method: str, final: JsonObject | None) -> JsonObject:
    if final is None:
        return {}
    state = str(final.get("state"))
    result = final.get("result") if isinstance(final.get("result"), dict) else {}
    summary = summarize_result(method, result or {})
    summary.pop("cached", None)
    return {"state": verdict(method, state, summary), "summary": summary}


def _rewrite(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _rewrite(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, old, new) for v in value]
    return value


async def _replay_machine(name: str, m: MachineTranscript, workdir: Path) -> list[JsonObject]:
    meta = m.meta
    faults = tuple(Fault(**f) for f in meta.get("faults", []))
    clock = SimClock(float(meta.get("speed", 1000.0)))
    backend = make_backend(meta["profile"], seed=int(meta["seed"]), clock=clock, serial=meta["serial"],
                           faults=faults)
    images = ImageServer()
    await images.start()
    publish_image(images, int(meta["image"]["size"]), str(meta["image"]["compression"]))
    firmware_param(images, name, backend.machine.profile)
    new_base = f"http://127.0.0.1:{images.port}/"
    diffs: list[JsonObject] = []
    try:
        async with reference_endpoint() as (endpoint, port), asyncio.TaskGroup() as tg:
            url = f"tcp://127.0.0.1:{port}"
            agent = tg.create_task(RealAgents()(backend, meta["agent_id"], url, workdir))
            await endpoint.endpoint.wait_for_agent(meta["agent_id"], timeout=30)
            for index, call in enumerate(m.calls):
                diff = await _replay_call(endpoint.endpoint, meta["agent_id"], call,
                                          _rewrite(call.params, meta["image_server"], new_base))
                if diff:
                    diffs.append({"machine": name, "index": index, "method": call.method, **diff})
                if call.method.endswith("run_image"):
                    break
            agent.cancel()
    finally:
        await images.close()
    return diffs


async def _replay_call(endpoint: Endpoint, agent_id: str, call: RecordedCall, params: JsonObject
                       ) -> JsonObject:
    if call.final is not None:
        try:
            final = await endpoint.run_task(agent_id, call.method, params, timeout=120)
        except CommandFailed as exc:
            return {"expected": _essence(call.method, call.final), "actual": f"error:{exc}"}
        expected, actual = _essence(call.method, call.final), _essence(call.method, final)
        return {} if expected == actual else {"expected": expected, "actual": actual}
    try:
        await endpoint.call(agent_id, call.method, params)
        reply = "result"
    except CommandFailed as exc:
        reply = f"error:{exc.error.type}"
    return {} if call.reply in ("none", reply) else {"expected": call.reply, "actual": reply}


def read_transcript(path: Path) -> list[JsonObject]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def replay(lines: list[JsonObject]) -> list[JsonObject]:
    diffs: list[JsonObject] = []
    with tempfile.TemporaryDirectory(prefix="teeth-replay-") as tmp:
        for name, machine in sorted(parse_transcript(lines).items()):
            if machine.meta:
                diffs += await _replay_machine(name, machine, Path(tmp) / name)
    return diffs


def replay_main(path: Path, report: Path | None) -> int:
    diffs = asyncio.run(replay(read_transcript(path)))
    if report is not None:
        report.write_text(json.dumps(diffs, indent=2, sort_keys=True) + "\n")
    for d in diffs:
        print(f"{d['machine']} #{d['index']} {d['method']}: expected {d['expected']}, got {d['actual']}")
    print("replay: behaviour matches the transcript" if not diffs else f"replay: {len(diffs)} difference(s)")
    return 0 if not diffs else 1
