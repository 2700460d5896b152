"""Processes for the agent/endpoint integration tests: a real `teeth-agent` and a killable endpoint.

Both talk over 127.0.0.1 only. Waits are bounded; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WAIT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class EndpointProc:
    """endpoint_driver.py in a child process: requests by stdin, events and answers on stdout."""

    def __init__(
        self, url: str, watched: tuple[str, ...], log_path: Path, options: tuple[str, ...] = ()
    ) -> None:
        self.url = url
        self.options = options
        self.watched = watched
        self.log_path = log_path
        self.events: list[dict[str, Any]] = []
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next = 0
        self._changed = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as err:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, str(HERE / "endpoint_driver.py"), *self.options, self.url, *self.watched,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=err, env=_env(),
            )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self.wait(lambda: any(e.get("event") == "listening" for e in self.events))

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            msg = json.loads(line)
            if "id" in msg and "event" not in msg:
                fut = self._replies.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            else:
                self.events.append(msg)
            self._changed.set()
        for fut in self._replies.values():
            if not fut.done():
                fut.set_exception(ConnectionError("endpoint process ended"))
        self._changed.set()

    async def request(self, op: str, **fields: Any) -> Any:
        assert self._proc is not None and self._proc.stdin is not None
        self._next += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._next] = fut
        self._proc.stdin.write(json.dumps({"id": self._next, "op": op, **fields}).encode() + b"\n")
        await self._proc.stdin.drain()
        async with asyncio.timeout(WAIT):
            reply = await fut
        if "error" in reply:
            raise RuntimeError(f"{op} failed: {reply['error']}")
        return reply["result"]

    async def wait(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    def finals(self, task_id: str) -> list[dict[str, Any]]:
        return [
            e["status"] for e in self.of("task")
            if e["status"]["task_id"] == task_id and e["status"]["state"] != "running"
        ]  # fmt: skip

    async def kill(self) -> None:
        """SIGKILL: no goodbye to the agents, no cleanup."""
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader


class AgentProc:
    def __init__(
        self, url: str, state_dir: Path, log_path: Path, options: tuple[str, ...], agent_id: str | None
    ) -> None:
        self.argv = [
            sys.executable, "-m", "teeth_agent.commands.entry", "--endpoint", url,
            "--state-dir", str(state_dir), "--plugin", "agent_it_tasks", "--cmdline-file", os.devnull,
            "--heartbeat-interval", "5", *options,
        ]  # fmt: skip
        if agent_id is not None:
            self.argv += ["--agent-id", agent_id]
        self.agent_id = agent_id or ""
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as err:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err, env=_env()
            )

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()

    async def terminate(self) -> int | None:
        if self._proc is None:
            return None
        if self._proc.returncode is None:
            self._proc.terminate()
            async with asyncio.timeout(WAIT):
                await self._proc.wait()
        return self._proc.returncode


class Procs:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.scheme = "tcp"
        self.state_dir = tmp_path / "state"
        self._all: list[EndpointProc | AgentProc] = []

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    async def endpoint(
        self, *watched: str, options: tuple[str, ...] = (), url: str | None = None
    ) -> EndpointProc:
        ep = EndpointProc(url or self.url, watched, self.tmp_path / "endpoint.log", options)
        self._all.append(ep)
        await ep.start()
        return ep

    async def agent(
        self,
        options: tuple[str, ...] = ("--backend", "null"),
        agent_id: str | None = "it-agent",
        url: str | None = None,
    ) -> AgentProc:
        agent = AgentProc(
            url or self.url, self.state_dir, self.tmp_path / f"agent-{agent_id}.log", options, agent_id
        )
        self._all.append(agent)
        await agent.start()
        return agent

    async def close(self) -> None:
        for proc in reversed(self._all):
            with contextlib.suppress(ProcessLookupError):
                await proc.kill()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and an agent certificate, made with the openssl tool."""
    d.mkdir(parents=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "agent"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", "ext.cnf", "-out", f"{name}.pem", cwd=d)  # fmt: skip
    return d
