"""The store contract, run over SQLite and over a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from teeth_agent.erase.certificate import certificate_digest
from teeth_endpoint.store import Store, StoreError
from teeth_endpoint.store.records import StatusIn
from teeth_endpoint.wire import LogRecord

NASTY = "x'); DROP TABLE agents; -- \"%s ? \\ \u00e9"


def sealed(serial: str, task_id: str = "t1", **extra: Any) -> dict[str, Any]:
    cert: dict[str, Any] = {
        "version": 1,
        "task_id": task_id,
        "device": {"path": f"/dev/{serial}", "serial": serial, "wwn": f"wwn-{serial}"},
        "method": "nvme_sanitize_crypto",
        "outcome": "erased",
        "started_at": 100.0,
        "finished_at": 160.5,
        "details": {"z": 1, "a": [3, 2, 1]},
        **extra,
    }
    cert["digest"] = certificate_digest(cert)
    return cert


def status(task_id: str, seq: int, state: str = "running", agent_id: str = "a1", **params: Any) -> StatusIn:
    body = {"task_id": task_id, "method": "decom.disk_erase", "seq": seq, "state": state, **params}
    return StatusIn(agent_id, task_id, "decom.disk_erase", seq, state, body, 1000.0 + seq)


async def connect(store: Store, agent_id: str = "a1", instance: str = "i1", boot: str = "b1") -> int:
    rec = await store.agent_connected(
        agent_id=agent_id, boot_id=boot, agent_version="v", backend="sim", methods=["status"],
        peer="127.0.0.1:1", instance=instance, now=10.0,
    )  # fmt: skip
    return rec.epoch


async def test_migrations_are_applied_once(store: Store) -> None:
    assert await store.migrate() == await store.migrate()
    assert await store.count("agents") == 0


async def test_a_second_link_fences_the_first(store: Store) -> None:
    first = await connect(store, instance="i1")
    second = await connect(store, instance="i2", boot="b2")
    assert second > first
    # The fenced link ending, or the old instance acting on stale knowledge, changes nothing.
    assert not await store.agent_disconnected("a1", "i1", first, 20.0)
    assert await store.holder("a1") == ("i2", second)
    agent = await store.agent("a1")
    assert agent is not None and agent.connected and agent.boots == 2
    assert await store.agent_disconnected("a1", "i2", second, 21.0)
    assert await store.holder("a1") is None


async def test_connected_needs_a_live_holder(store: Store) -> None:
    await store.instance_beat("i1", 100.0)
    await connect(store, instance="i1")
    assert [a.connected for a in await store.agents(now=105.0)] == [True]
    assert [a.connected for a in await store.agents(now=200.0)] == [False]  # i1 stopped beating


async def test_statuses_by_seq_and_one_final_per_task_ever(store: Store) -> None:
    await store.task_started(task_id="t1", agent_id="a1", method="decom.disk_erase", params={"x": 1},
                             started_by="api", now=1.0)  # fmt: skip
    out = await store.write_statuses([status("t1", 1, percent=10.0), status("t1", 2, percent=50.0)])
    assert out.changed == [("t1", 1), ("t1", 2)]
    dup = await store.write_statuses([status("t1", 1, percent=10.0)])
    assert dup.changed == []
    final = status("t1", 3, "complete", result={"certificates": [sealed("s1"), sealed("s2")]})
    first = await store.write_statuses([final])
    assert first.new_finals == ["t1"] and first.certificates == 2
    again = await store.write_statuses([final, status("t1", 4, "error", msg="late")])
    assert again.new_finals == [] and again.changed == []
    assert await store.final_count("t1") == 1
    task = await store.task("t1")
    assert task is not None and task.state == "complete" and task.seq == 3 and task.params == {"x": 1}
    assert [s["seq"] for s in await store.statuses("t1")] == [1, 2, 3]


async def test_certificates_come_back_verbatim_and_sealed(store: Store) -> None:
    certs = [sealed("s1"), sealed("s2", warnings=["w\u00e9"])]
    await store.write_statuses([status("t1", 0, "complete", result={"certificates": certs})])
    back = [c for _, c in await store.certificates(agent_id="a1")]
    assert back == certs
    assert all(certificate_digest(c) == c["digest"] for c in back)
    assert [json.dumps(c, sort_keys=True) for c in back] == [json.dumps(c, sort_keys=True) for c in certs]
    assert [c["device"]["serial"] for _, c in await store.certificates(serial="s2")] == ["s2"]
    assert [c["device"]["serial"] for _, c in await store.certificates(wwn="wwn-s1")] == ["s1"]
    assert await store.certificates(since=161.0) == []
    cert_id = (await store.certificates(agent_id="a1"))[0][0]
    assert await store.certificate(cert_id) == certs[0]


async def test_a_broken_seal_is_not_stored_as_a_certificate(store: Store) -> None:
    forged = sealed("s1")
    forged["outcome"] = "erased-honest"
    out = await store.write_statuses([status("t1", 0, "complete", result={"certificates": [forged, 7]})])
    assert out.certificates == 0 and len(out.bad_seals) == 2
    assert await store.certificates() == []
    assert await store.final_count("t1") == 1  # the final itself is kept, with what the agent said


async def test_a_status_for_another_agents_task_changes_nothing(store: Store) -> None:
    await store.task_started(task_id="t1", agent_id="a1", method="m", params={}, started_by="api", now=1.0)
    out = await store.write_statuses([status("t1", 1, "complete", agent_id="intruder")])
    assert out.changed == [] and await store.final_count("t1") == 0
    with pytest.raises(StoreError, match="belongs to agent"):
        await store.task_started(task_id="t1", agent_id="a2", method="m", params={}, started_by="api",
                                 now=1.0)  # fmt: skip


async def test_sql_metacharacters_in_every_field_are_just_text(store: Store) -> None:
    await store.agent_connected(
        agent_id=NASTY, boot_id=NASTY, agent_version=NASTY, backend=NASTY, methods=[NASTY], peer=NASTY,
        instance=NASTY, now=1.0,
    )  # fmt: skip
    await store.put_inventory(NASTY, NASTY, {NASTY: NASTY}, 2.0)
    await store.task_started(task_id=NASTY, agent_id=NASTY, method=NASTY, params={NASTY: NASTY},
                             started_by=NASTY, now=3.0)  # fmt: skip
    cert = sealed(NASTY, task_id=NASTY)
    final = status(NASTY, 1, "complete", agent_id=NASTY, result={"certificates": [cert]})
    await store.write_statuses([final])
    await store.add_logs([LogRecord(NASTY, "info", NASTY, 1.0, NASTY, NASTY, {NASTY: NASTY})], 4.0)
    agent = await store.agent(NASTY)
    assert agent is not None and agent.methods == (NASTY,) and agent.holder == NASTY
    assert (await store.inventory(NASTY))[NASTY]["data"] == {NASTY: NASTY}
    task = await store.task(NASTY)
    assert task is not None and task.state == "complete" and task.params == {NASTY: NASTY}
    assert [c for _, c in await store.certificates(agent_id=NASTY, serial=NASTY)] == [cert]
    assert [r.msg for _, r in await store.logs(agent_id=NASTY)] == [NASTY]
    assert await store.count("agents") == 1


async def test_logs_keep_a_bounded_tail(store: Store) -> None:
    for batch in range(10):
        records = [LogRecord("a1", "info", f"{batch}-{i}", None, "", None, {}) for i in range(10)]
        await store.add_logs(records, float(batch))
    assert 50 <= await store.log_count() <= 55  # retention 50 (conftest), pruned in steps
    newest = await store.logs(after=await store.last_log_id() - 1)
    assert [r.msg for _, r in newest] == ["9-9"]


async def test_credentials_are_looked_up_by_hash(store: Store) -> None:
    await store.add_credential("h1", "agent", "a1", 1.0, expires=100.0)
    assert await store.credential("h1") == ("agent", "a1", 100.0)
    assert await store.credential("nope") is None
    assert await store.has_credentials("agent", "a1") and not await store.has_credentials("agent", "a2")
    assert await store.revoke("agent", "a1") == 1
    assert await store.credential("h1") is None


async def test_commands_are_claimed_once_and_answered(store: Store) -> None:
    ready = asyncio.Event()
    events = store.events(ready)
    seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen() -> None:
        async for payload in events:
            if payload:
                seen.put_nowait(json.loads(payload))

    listener = asyncio.create_task(listen())
    try:
        await ready.wait()
        cid = await store.add_command(agent_id="a1", origin="i1", target="i2", method="status", params={},
                                      now=1.0)  # fmt: skip
        assert await store.claim_command(cid, "i3") is None
        claimed = await store.claim_command(cid, "i2")
        assert claimed is not None and claimed.method == "status"
        assert await store.claim_command(cid, "i2") is None
        await store.finish_command(cid, "i1", {"ok": True, "result": {"x": 1}})
        assert await store.command_reply(cid) == {"ok": True, "result": {"x": 1}}
        kinds = [(await asyncio.wait_for(seen.get(), 10))["k"] for _ in range(2)]
        assert kinds == ["cmd", "reply"]
    finally:
        listener.cancel()


async def test_a_writer_cancelled_mid_transaction_leaves_the_store_usable(store: Store) -> None:
    # Cancelled after 0, 1, 2, ... loop turns: somewhere between BEGIN and COMMIT for most of them.
    for turns in range(30):
        write = asyncio.create_task(store.write_statuses([status(f"t{turns}", 1), status(f"u{turns}", 1)]))
        for _ in range(turns):
            await asyncio.sleep(0)
        write.cancel()
        await asyncio.gather(write, return_exceptions=True)
    out = await store.write_statuses([status("after", 1)])
    assert out.changed == [("after", 1)]
    await store.instance_gone("i1", 1.0)
