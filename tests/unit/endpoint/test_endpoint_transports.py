"""Mutual TLS, and hostile peers against the running endpoint: none of them crash it."""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import subprocess
from contextlib import suppress
from pathlib import Path

import pytest
from fakeagent import FakeAgent

from teeth_agent.connection import ConnectionClosed
from teeth_endpoint.api import Endpoint
from teeth_endpoint.server import server_tls_context


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=teeth test CA", cwd=d)  # fmt: skip
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "agent"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", "san.cnf", cwd=d)  # fmt: skip
    return d


def client_context(pki: Path, *, with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki / "ca.pem"))
    if with_cert:
        ctx.load_cert_chain(str(pki / "agent.pem"), str(pki / "agent.key"))
    return ctx


async def test_mutual_tls_accepts_a_signed_agent_and_refuses_one_without_a_certificate(pki: Path) -> None:
    tls = server_tls_context(str(pki / "server.pem"), str(pki / "server.key"), str(pki / "ca.pem"))
    async with Endpoint() as ep:
        url = await ep.listen("tls://127.0.0.1:0", tls)
        hostport = url.removeprefix("tls://")
        signed = client_context(pki, with_cert=True)
        conn, runner, reply = await FakeAgent("tls-1").connect(f"tcp://{hostport}", tls=signed)
        assert reply["accepted"] is True
        await conn.close()
        await runner
        with pytest.raises((ConnectionClosed, ssl.SSLError)):
            # TLS 1.3 reports a missing client certificate on the first read, not in the handshake.
            await FakeAgent("tls-2").connect(f"tcp://{hostport}", tls=client_context(pki, with_cert=False))
        assert [a.agent_id for a in ep.agents()] == ["tls-1"]


async def test_tls_listener_needs_a_context() -> None:
    async with Endpoint() as ep:
        with pytest.raises(ValueError, match="tls://"):
            await ep.listen("tls://127.0.0.1:0")


HS = b'{"version":"v1","id":"h","method":"handshake","params":{"agent_id":"evil","boot_id":"b"}}\n'
HOSTILE = [
    b"\xff" * 10 + b"\n",
    b"[]\n",
    HS + b'{"version":"v1","id":"x","method":"log","params":' + b"[" * 100_000 + b"\n",
    HS + b'{"version":"v1","id":"x","method":"log","params":{"n":' + b"9" * 20_000 + b"}}\n",
    HS + b'{"version":"v1","id":"x","method":"log","params":"str"}\n',
    HS + b'{"version":"v1","id":"nope","result":{}}\n',
    HS + b'{"version":"v1","id":"h","method":"ping"}\n{"version":"v1","id":"h","method":"ping"}\n',
    HS + b"x" * (2 << 20),
    HS + b'{"version":"v1","id":"half',
]


async def test_hostile_peers_never_crash_the_endpoint() -> None:
    async with Endpoint(line_limit=1 << 20) as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        host, port = url.removeprefix("tcp://").rsplit(":", 1)

        async def attack(payload: bytes) -> bytes:
            reader, writer = await asyncio.open_connection(host, int(port))
            try:
                writer.write(payload)
                await writer.drain()
                if payload.endswith(b"half"):
                    return b""  # vanish mid-message
                return await asyncio.wait_for(reader.read(), 10)
            except ConnectionError:
                return b""
            finally:
                writer.close()

        answers = await asyncio.gather(*(attack(p) for p in HOSTILE))
        fatal = [json.loads(a.splitlines()[-1]).get("fatal_error") for a in answers if a]
        assert len(fatal) >= len(HOSTILE) - 2 and all(isinstance(f, str) for f in fatal)
        # Still serving: a well-behaved agent gets through, and the hostile "evil" agent is gone.
        conn, runner, reply = await FakeAgent("good").connect(url)
        assert reply["accepted"] is True
        assert await ep.call("good", "status") == {"agent_id": "good", "boot_id": "boot-1"}
        assert {a.agent_id: a.connected for a in ep.agents()} == {"evil": False, "good": True}
        await conn.close()
        await runner


def garbage(rng: random.Random) -> bytes:
    """A valid handshake or not, then random bytes, broken lines, or almost-messages."""
    parts = [HS] if rng.random() < 0.7 else []
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(4)
        if kind == 0:
            parts.append(rng.randbytes(rng.randint(1, 300)))
        elif kind == 1:
            parts.append(b'{"version":"v1","id":"%d","method":"%s","params":{}}\n' % (
                rng.randrange(5), rng.choice([b"ping", b"log", b"task_status", b"nope"])))  # fmt: skip
        elif kind == 2:
            parts.append(b'{"version":"v1","id":"%d","result":{}}\n' % rng.randrange(5))
        else:
            parts.append(b"\n" * rng.randint(1, 3))
    return b"".join(parts)


@pytest.mark.parametrize("seed", [1234, 5678, 91011])
async def test_random_garbage_from_many_peers_leaves_no_unhandled_error(seed: int) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    rng = random.Random(seed)
    async with Endpoint(heartbeat_interval=5) as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        host, port = url.removeprefix("tcp://").rsplit(":", 1)

        async def peer(payload: bytes, abort: bool) -> None:
            reader, writer = await asyncio.open_connection(host, int(port))
            with suppress(OSError):
                writer.write(payload)
                await writer.drain()
                if abort:
                    writer.transport.abort()  # vanish with a reset
                    return
                writer.write_eof()  # done talking: the endpoint answers what it got, then closes
                await asyncio.wait_for(reader.read(), 10)
            writer.close()

        await asyncio.gather(*(peer(garbage(rng), rng.random() < 0.3) for _ in range(200)))
        conn, runner, reply = await FakeAgent("survivor").connect(url)
        assert reply["accepted"] is True
        await conn.close()
        await runner
    loop.set_exception_handler(None)
    assert unhandled == []
