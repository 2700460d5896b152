"""Several `teeth-endpoint serve --store postgresql://...` processes on one real PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from fakeagent import FakeAgent
from pg_server import PgServer
from procs import EndpointProc, start_fleet, stop

from teeth_agent.erase.certificate import certificate_digest


async def test_a_task_started_where_the_agent_is_not_linked_completes(pg: PgServer, tmp_path: Path) -> None:
    url = pg.new_database()
    a, b = (EndpointProc(tmp_path, name, "--store", url) for name in ("inst-a", "inst-b"))
    await a.start()
    await b.start()
    fleet = await start_fleet(tmp_path, 1, [a.agent_url])  # the agent knows only instance a
    try:
        (agent,) = await b.client().wait_connected(1)
        assert agent["instance"] == "inst-a"
        agent_id = agent["agent_id"]
        status = await b.client().post(f"/v1/agents/{agent_id}/commands", {"method": "status"})
        assert status["result"]["agent_id"] == agent_id
        erase = {"method": "decom.disk_erase", "params": {"mode": "quick"}}
        started = await b.client().post(f"/v1/agents/{agent_id}/tasks", erase)
        task = await b.client().get(f"/v1/tasks/{started['task_id']}?wait=60")
        assert task["state"] == "complete", task
        certs = (await b.client().get(f"/v1/certificates?agent_id={agent_id}"))["certificates"]
        assert certs == task["result"]["certificates"]
        assert all(certificate_digest(c) == c["digest"] for c in certs)

        # Restart every instance and the database: the history is all still there.
        await a.stop()
        await b.stop()
        pg.restart()
        await a.start()
        await b.start()
        assert (await a.client().get(f"/v1/certificates?agent_id={agent_id}"))["certificates"] == certs
        again = await b.client().get(f"/v1/tasks/{started['task_id']}")
        assert again["state"] == "complete" and again["result"] == task["result"]
    finally:
        await stop(fleet)
        await a.stop()
        await b.stop()


async def test_a_second_link_on_another_instance_fences_the_first(pg: PgServer, tmp_path: Path) -> None:
    url = pg.new_database()
    a, b = (EndpointProc(tmp_path, name, "--store", url) for name in ("inst-a", "inst-b"))
    await a.start()
    await b.start()
    try:
        first = FakeAgent("twin")
        _, run1, _ = await first.connect(a.agent_url)
        await a.client().wait_connected(1)
        second = FakeAgent("twin", boot_id="boot-2")
        conn2, run2, _ = await second.connect(b.agent_url)
        reason = await asyncio.wait_for(run1, 30)  # instance a closed the older link
        assert "replaced by a newer link on endpoint instance inst-b" in reason
        (agent,) = await a.client().wait_connected(1)
        assert agent["instance"] == "inst-b" and agent["boot_id"] == "boot-2"
        # The fenced link's end did not mark the agent gone; calls through a reach it via b.
        status = await a.client().post("/v1/agents/twin/commands", {"method": "status"})
        assert status["result"]["boot_id"] == "boot-2"
        await conn2.close()
        await run2
    finally:
        await a.stop()
        await b.stop()


async def test_failover_every_final_once_and_a_survivor_sees_each(pg: PgServer, tmp_path: Path) -> None:
    count = 200
    url = pg.new_database()
    insts = [EndpointProc(tmp_path, f"inst-{i}", "--store", url) for i in range(3)]
    for inst in insts:
        await inst.start()
    fleet = await start_fleet(tmp_path, count, [i.agent_url for i in insts])
    try:
        watcher = insts[1].client()
        agents = await watcher.wait_connected(count)
        victim = next(a["instance"] for a in agents if a["instance"] == "inst-0")
        started = await asyncio.gather(*(
            watcher.post(f"/v1/agents/{a['agent_id']}/tasks", {"method": "decom.disk_erase", "params": {}})
            for a in agents
        ))  # fmt: skip
        tasks = [s["task_id"] for s in started]
        before = (await watcher.get("/v1/tasks"))["tasks"]
        await insts[0].stop(signal.SIGKILL)
        # Mid-task: secure erases of the vm profile take seconds, and inst-0 held a third of the links.
        on_victim = {a["agent_id"] for a in agents if a["instance"] == victim}
        assert any(t["agent_id"] in on_victim and t["state"] in ("pending", "running") for t in before)
        finals = await asyncio.gather(*(watcher.get(f"/v1/tasks/{t}?wait=300") for t in tasks))
        assert [f["state"] for f in finals] == ["complete"] * count
        rehomed = await watcher.wait_connected(count, avoiding=victim)
        assert len(rehomed) == count and victim not in {a["instance"] for a in rehomed}
        database = url.split("@/", 1)[1].split("?")[0]
        counts = pg.psql("SELECT count(*), count(DISTINCT task_id) FROM task_finals", database=database)
        assert counts.strip() == f"{count}|{count}"
        certs = (await watcher.get("/v1/certificates"))["certificates"]
        assert len(certs) == 2 * count and all(certificate_digest(c) == c["digest"] for c in certs)
    finally:
        await stop(fleet)
        for inst in insts:
            await inst.stop()
