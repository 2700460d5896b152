"""`teeth-endpoint serve` as a real process, and a small client for its HTTP API."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).parent


class EndpointProc:
    def __init__(self, tmp: Path, name: str, *store_args: str, api_token: str | None = None,
                 extra: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.store_args = store_args
        self.api_token = api_token
        self.extra = extra
        self.proc: asyncio.subprocess.Process | None = None
        self.agent_url = ""
        self.api_url = ""
        self.lines: list[str] = []
        self._ports: tuple[int, int] | None = None

    async def start(self) -> None:
        args = [sys.executable, "-m", "teeth_endpoint.cli", "serve", "--quiet",
                "--control", str(self.dir / "ctl.sock"), "--instance-id", self.name, *self.store_args,
                *self.extra]  # fmt: skip
        if self._ports is None:
            args += ["--listen", "tcp://127.0.0.1:0", "--api", "http://127.0.0.1:0"]
        else:  # a restart keeps its addresses: agents and clients know them
            args += ["--listen", f"tcp://127.0.0.1:{self._ports[0]}", "--api", f"http://127.0.0.1:{self._ports[1]}"]
        if self.api_token is not None:
            (self.dir / "api.token").write_text(self.api_token + "\n")
            args += ["--api-token-file", str(self.dir / "api.token")]
        self.proc = await asyncio.create_subprocess_exec(*args, stderr=asyncio.subprocess.PIPE)
        assert self.proc.stderr is not None
        self.agent_url = self.api_url = ""
        while not (self.agent_url and self.api_url):
            line = (await asyncio.wait_for(self.proc.stderr.readline(), 60)).decode()
            if not line:
                raise RuntimeError(f"teeth-endpoint {self.name} exited early:\n" + "".join(self.lines))
            self.lines.append(line)
            if "HTTP API on " in line:
                self.api_url = line.split("HTTP API on ", 1)[1].split()[0]
            if "listening on " in line:
                self.agent_url = line.split("listening on ", 1)[1].strip()
        self._ports = (int(self.agent_url.rsplit(":", 1)[1]), int(self.api_url.rsplit(":", 1)[1]))
        asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        proc = self.proc
        assert proc is not None and proc.stderr is not None
        while line := await proc.stderr.readline():
            self.lines.append(line.decode())

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 60)

    def client(self, token: str | None = None) -> Api:
        return Api(self.api_url, token if token is not None else self.api_token)


class Api:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def request(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        async with aiohttp.ClientSession(headers=self.headers) as s, s.request(
            method, self.url + path, json=body, **kw
        ) as r:
            text = await r.text()
            if r.content_type == "application/json":
                return r.status, await r.json()
            return r.status, text

    async def get(self, path: str, **kw: Any) -> Any:
        status, body = await self.request("GET", path, **kw)
        assert status == 200, (status, body)
        return body

    async def post(self, path: str, body: Any) -> Any:
        status, reply = await self.request("POST", path, body)
        assert status in (200, 201, 202), (status, reply)
        return reply

    async def wait_connected(
        self, count: int, within: float = 60.0, avoiding: str | None = None
    ) -> list[dict[str, Any]]:
        """At least `count` connected agents (none of them through instance `avoiding`)."""
        async with asyncio.timeout(within):
            while True:
                agents = [a for a in (await self.get("/v1/agents"))["agents"]
                          if a["connected"] and a["instance"] != avoiding]  # fmt: skip
                if len(agents) >= count:
                    return agents
                await asyncio.sleep(0.2)


async def start_fleet(tmp: Path, count: int, urls: list[str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "sim_fleet.py"), str(tmp / "fleet"), str(count), *urls,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"running"
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await proc.wait()
