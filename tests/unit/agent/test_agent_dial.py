from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import tty
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teeth_agent.dial import (
    Backoff,
    Dialer,
    EndpointUrl,
    Streams,
    client_tls_context,
    open_endpoint,
    parse_endpoint,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("tcp://127.0.0.1:9999", EndpointUrl("tcp", "127.0.0.1", 9999)),
        ("TLS://endpoint.example:443", EndpointUrl("tls", "endpoint.example", 443)),
        ("tcp://[::1]:7/", EndpointUrl("tcp", "::1", 7)),
        ("unix:///run/teeth.sock", EndpointUrl("unix", path="/run/teeth.sock")),
        ("/dev/virtio-ports/org.teeth.0", EndpointUrl("serial", path="/dev/virtio-ports/org.teeth.0")),
        ("serial:///dev/ttyS1", EndpointUrl("serial", path="/dev/ttyS1")),
    ],
)
def test_parse_endpoint(url: str, expected: EndpointUrl) -> None:
    assert parse_endpoint(url) == expected
    assert parse_endpoint(str(expected)) == expected


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://h:1", "scheme must be"),
        ("tcp://h", "missing port"),
        ("tcp://:80", "missing host"),
        ("tcp://h:99999", "port must be a number"),
        ("tcp://h:1/x", "nothing after the port"),
        ("unix://relative", "absolute path"),
        ("h:1", "scheme must be"),
    ],
)
def test_bad_endpoint_names_the_problem(url: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_endpoint(url)


def test_backoff_grows_then_caps() -> None:
    b = Backoff(initial=1.0, factor=2.0, cap=10.0, jitter=0.0)
    assert [b.delay(n, 0.0) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.delay(10_000, 0.0) == 10.0


@given(st.integers(0, 500), st.floats(0, 1, exclude_max=True))
def test_backoff_jitter_stays_within_bounds(failures: int, rand: float) -> None:
    b = Backoff(initial=0.5, factor=2.0, cap=30.0, jitter=0.5)
    full = min(30.0, 0.5 * 2.0 ** min(failures, 64))
    assert full / 2 <= b.delay(failures, rand) <= full


class FakeNet:
    """Endpoints by URL: True answers, False refuses."""

    def __init__(self, up: dict[str, bool]) -> None:
        self.up = up
        self.dialed: list[str] = []
        self.slept: list[float] = []
        self.five_dials = asyncio.Event()

    async def open(self, ep: EndpointUrl) -> Streams:
        self.dialed.append(str(ep))
        if len(self.dialed) >= 5:
            self.five_dials.set()
        if not self.up[str(ep)]:
            raise ConnectionRefusedError("refused")
        return asyncio.StreamReader(), None  # type: ignore[return-value]

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


async def test_dialer_fails_over_and_backs_off_until_one_answers() -> None:
    net = FakeNet({"tcp://a:1": False, "tcp://b:1": False})
    eps = [parse_endpoint(u) for u in net.up]
    dialer = Dialer(eps, opener=net.open, sleep=net.sleep, rand=lambda: 0.0, backoff=Backoff(1, 2, 5, 0.5))
    attempt = asyncio.create_task(dialer.connect())
    await net.five_dials.wait()
    net.up["tcp://b:1"] = True
    ep, _ = await attempt
    assert str(ep) == "tcp://b:1"
    assert net.dialed[:4] == ["tcp://a:1", "tcp://b:1", "tcp://a:1", "tcp://b:1"]
    assert net.slept[:4] == [1.0, 2.0, 4.0, 5.0]
    dialer.accepted()
    await dialer.connect()
    assert net.slept[-1] == 1.0  # an accepted handshake restarts the backoff (and stays on b)
    assert net.dialed[-1] == "tcp://b:1"


def test_dialer_needs_an_endpoint() -> None:
    with pytest.raises(ValueError, match="no endpoint"):
        Dialer([], opener=FakeNet({}).open)


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()


async def _roundtrip(streams: Streams) -> bytes:
    reader, writer = streams
    writer.write(b'{"hello": 1}\n')
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    return line


async def test_tcp_and_unix_dial(tmp_path: Path) -> None:
    tcp = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    sock = str(tmp_path / "e.sock")
    unix = await asyncio.start_unix_server(_echo, sock)
    async with tcp, unix:
        assert await _roundtrip(await open_endpoint(parse_endpoint(f"tcp://127.0.0.1:{port}"), None))
        assert await _roundtrip(await open_endpoint(parse_endpoint(f"unix://{sock}"), None))


async def test_character_device_dial_over_a_pty() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        reader, writer = await open_endpoint(parse_endpoint(os.ttyname(slave)), None)
        writer.write(b'{"a": 1}\n')
        await writer.drain()
        got = await asyncio.to_thread(os.read, master, 100)
        os.write(master, b'{"b": 2}\n')
        assert got == b'{"a": 1}\n'
        assert await asyncio.wait_for(reader.readline(), 5) == b'{"b": 2}\n'
        writer.close()
    finally:
        os.close(master)
        os.close(slave)


async def test_character_device_starts_clean_and_closes_cleanly() -> None:
    # No connection boundary on a device: bytes meant for an earlier agent process must not reach the
    # new session, and closing must be awaitable like any other link's.
    master, slave = os.openpty()
    tty.setraw(master)
    try:
        os.write(master, b'{"id": "a2", "result": {}}\n')  # the reply the killed agent never read
        await asyncio.sleep(0.05)
        reader, writer = await open_endpoint(parse_endpoint(os.ttyname(slave)), None)
        os.write(master, b'{"fresh": 1}\n')
        assert await asyncio.wait_for(reader.readline(), 5) == b'{"fresh": 1}\n'
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 5)
    finally:
        os.close(master)
        os.close(slave)


async def test_character_device_refuses_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "not-a-device"
    path.write_text("")
    with pytest.raises(OSError, match="not a character device"):
        await open_endpoint(parse_endpoint(str(path)), None)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_ca(d: Path, name: str) -> None:
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.pem",
        cwd=d,
    )


def _make_cert(d: Path, ca: str, name: str) -> None:
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={name}",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        cwd=d,
    )
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.pem",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        f"{name}.pem",
        cwd=d,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    _make_ca(d, "ca")
    _make_ca(d, "otherca")
    _make_cert(d, "ca", "server")
    _make_cert(d, "ca", "agent")
    return d


async def test_mutual_tls_dial(pki: Path) -> None:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    server_ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    seen: list[object] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(writer.get_extra_info("peercert")["subject"])
        await _echo(reader, writer)

    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_ctx)
    ep = parse_endpoint(f"tls://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    async with server:
        good = client_tls_context(str(pki / "ca.pem"), str(pki / "agent.pem"), str(pki / "agent.key"))
        assert await _roundtrip(await open_endpoint(ep, good)) == b'{"hello": 1}\n'
        assert seen == [((("commonName", "agent"),),)]
        wrong_ca = client_tls_context(str(pki / "otherca.pem"), None, None)
        with pytest.raises(ssl.SSLError):
            await open_endpoint(ep, wrong_ca)


def test_key_without_cert_is_refused() -> None:
    with pytest.raises(ValueError, match="--key given without --cert"):
        client_tls_context(None, None, "k.pem")


async def test_a_dial_that_hangs_is_cut_by_the_connect_timeout() -> None:
    dialed: list[str] = []
    answered = asyncio.Event()

    async def opener(ep: EndpointUrl) -> Streams:
        dialed.append(str(ep))
        if len(dialed) == 1:
            await asyncio.Event().wait()  # a black hole: SYN never answered
        answered.set()
        return asyncio.StreamReader(), None  # type: ignore[return-value]

    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    eps = [parse_endpoint("tcp://a:1"), parse_endpoint("tcp://b:1")]
    dialer = Dialer(eps, opener=opener, connect_timeout=0.05, sleep=no_sleep)
    ep, _ = await dialer.connect()
    assert str(ep) == "tcp://b:1" and dialed == ["tcp://a:1", "tcp://b:1"] and dialer.failures == 1
