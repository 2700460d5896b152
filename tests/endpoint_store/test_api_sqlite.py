"""The HTTP API over SQLite, with real processes: `teeth-endpoint serve --state-dir` and a simulated agent."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from procs import EndpointProc, start_fleet, stop

from teeth_agent.erase.certificate import certificate_digest


async def test_an_erase_through_the_api_survives_an_endpoint_restart(tmp_path: Path) -> None:
    ep = EndpointProc(tmp_path, "one", "--state-dir", str(tmp_path / "state"), api_token="s3cret")
    await ep.start()
    fleet = await start_fleet(tmp_path, 1, [ep.agent_url])
    try:
        api = ep.client()
        (agent,) = await api.wait_connected(1)
        started = await api.post(f"/v1/agents/{agent['agent_id']}/tasks",
                                 {"method": "decom.disk_erase", "params": {"mode": "quick"}})  # fmt: skip
        task = await api.get(f"/v1/tasks/{started['task_id']}?wait=60")
        assert task["state"] == "complete", task
        certs = (await api.get(f"/v1/certificates?agent_id={agent['agent_id']}"))["certificates"]
        assert certs == task["result"]["certificates"] and len(certs) == 2
        assert await ep.stop() == 0

        await ep.start()
        again = await api.get(f"/v1/tasks/{started['task_id']}")
        assert again["state"] == "complete" and again["result"] == task["result"]
        kept = (await api.get(f"/v1/certificates?agent_id={agent['agent_id']}"))["certificates"]
        assert kept == certs
        assert all(certificate_digest(c) == c["digest"] for c in kept)
        lines = await api.get(f"/v1/certificates?agent_id={agent['agent_id']}&format=jsonl")
        assert [json.loads(line) for line in lines.splitlines()] == certs
        await api.wait_connected(1)  # the agent came back to the restarted endpoint
        status = await api.post(f"/v1/agents/{agent['agent_id']}/commands", {"method": "status"})
        assert status["result"]["agent_id"] == agent["agent_id"]
        inventory = await api.get(f"/v1/agents/{agent['agent_id']}/inventory")
        assert inventory["inventory"]["status"]["data"] == status["result"]
    finally:
        await stop(fleet)
        await ep.stop()


async def test_bad_requests_get_clear_errors_and_change_nothing(tmp_path: Path) -> None:
    ep = EndpointProc(tmp_path, "one", "--state-dir", str(tmp_path / "state"), api_token="s3cret")
    await ep.start()
    try:
        anonymous, wrong, api = ep.client(""), ep.client("guess"), ep.client()
        doc = await anonymous.get("/v1/openapi.json")  # the document needs no token
        assert "/v1/tasks/{task_id}" in doc["paths"]
        for client in (anonymous, wrong):
            code, body = await client.request("GET", "/v1/agents")
            assert code == 401 and body["error"]["type"] == "unauthorized"
        huge = {"method": "m", "params": {"x": "y" * (2 << 20)}}
        code, body = await api.request("POST", "/v1/agents/x/tasks", huge)
        assert code == 413 and body["error"]["type"] == "too_large"
        code, body = await api.request("POST", "/v1/agents/x/tasks", data=b"{not json")
        assert code == 400 and body["error"]["type"] == "bad_request"
        code, body = await api.request("POST", "/v1/agents/x/tasks", {"method": 7})
        assert code == 400
        code, body = await api.request("POST", "/v1/agents/nobody/commands", {"method": "status"})
        assert code == 409 and body["error"]["type"] == "not_connected"
        code, body = await api.request("GET", "/v1/tasks/none?wait=abc")
        assert code == 400
        code, body = await api.request("GET", "/v1/tasks/none")
        assert code == 404
        nasty = "x'; DROP TABLE tasks;--"
        code, body = await api.request("GET", "/v1/certificates", params={"agent_id": nasty, "serial": nasty})
        assert code == 200 and body["certificates"] == []
        assert (await api.get("/v1/tasks"))["tasks"] == []
    finally:
        await ep.stop()


async def test_the_store_url_never_shows_its_password(tmp_path: Path) -> None:
    ep = EndpointProc(tmp_path, "one", "--store", "postgresql://teeth:hunter2@127.0.0.1:1/teeth?connect_timeout=1")
    try:
        await ep.start()
        raise AssertionError("the endpoint started without its database")
    except RuntimeError as exc:
        text = str(exc)
    assert ep.proc is not None and await ep.proc.wait() == 2
    assert "cannot reach the PostgreSQL store postgresql://teeth:***@127.0.0.1:1/teeth" in text
    assert "hunter2" not in text


async def test_task_progress_streams_as_server_sent_events(tmp_path: Path) -> None:
    ep = EndpointProc(tmp_path, "one", "--state-dir", str(tmp_path / "state"))
    await ep.start()
    fleet = await start_fleet(tmp_path, 1, [ep.agent_url])
    try:
        api = ep.client()
        (agent,) = await api.wait_connected(1)
        started = await api.post(f"/v1/agents/{agent['agent_id']}/tasks",
                                 {"method": "decom.disk_erase", "params": {"mode": "quick"}})  # fmt: skip
        events = []
        stream = f"{ep.api_url}/v1/tasks/{started['task_id']}/events"
        async with aiohttp.ClientSession() as s, s.get(stream) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            async for raw in r.content:
                line = raw.decode().strip()
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
        assert events[-1] == {"task_id": started["task_id"]}  # the end event
        seqs = [e["seq"] for e in events[:-1]]
        assert seqs == sorted(set(seqs)) and events[-2]["state"] == "complete"
    finally:
        await stop(fleet)
        await ep.stop()
