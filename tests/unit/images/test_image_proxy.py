"""Downloads through a real tinyproxy (Debian's package) started by the test on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from block_fakes import content, open_disk
from image_server import ImageServer, Route
from images_test_support import disk_fixture, server_fixture  # noqa: F401
from test_image_pipeline import assert_not_bootable, disk_image, plant_old_image

from teeth_agent.backend.memory import MemoryHandle
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.http.errors import ProxyError
from teeth_agent.http.proxy import ProxySettings
from teeth_agent.images.pipeline import Target, stream_image
from teeth_agent.images.worker import DecodeJob


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_tinyproxy(work: Path, extra: str = "") -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("tinyproxy")
    if binary is None:
        pytest.fail("tinyproxy is not installed (deps/apt-images.txt)")
    port = free_port()
    conf = work / "tinyproxy.conf"
    conf.write_text(f"Port {port}\nListen 127.0.0.1\nTimeout 30\nLogLevel Error\nMaxClients 20\n"
                    f"LogFile \"{work}/tinyproxy.log\"\nAllow 127.0.0.1\n{extra}")
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)])
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        subprocess.run(["sleep", "0.05"], check=True)
    proc.kill()
    pytest.fail("tinyproxy did not start")


@pytest.fixture(name="proxy")
def proxy_fixture(tmp_path: Path) -> Iterator[int]:
    proc, port = start_tinyproxy(tmp_path)
    yield port
    proc.terminate()
    proc.wait()


async def test_http_through_the_proxy(server: ImageServer, disk: MemoryHandle, proxy: int) -> None:
    raw = disk_image(seed=50)
    server.routes["/image"] = Route(body=raw)
    options = HttpOptions(proxy=ProxySettings.from_params({"http": f"http://127.0.0.1:{proxy}"}, ""))
    result = await stream_image(HttpDownload((server.url("/image"),), options), Target(disk),
                                {"sha256": hashlib.sha256(raw).hexdigest()}, DecodeJob(True, "raw"))
    assert result.size == len(raw) and content(disk, len(raw)) == raw
    assert "tinyproxy" in server.requests_for("/image")[0].headers.get("via", "")


async def test_a_proxy_that_wants_credentials_is_a_clear_error(
    server: ImageServer, disk: MemoryHandle, tmp_path: Path
) -> None:
    proc, port = start_tinyproxy(tmp_path, "BasicAuth user secret\n")
    try:
        server.routes["/image"] = Route(body=b"x")
        plant_old_image(disk)
        options = HttpOptions(proxy=ProxySettings.from_params({"http": f"http://127.0.0.1:{port}"}, ""))
        with pytest.raises(ProxyError, match="asks for credentials"):
            await stream_image(HttpDownload((server.url("/image"),), options), Target(disk, bootable=True),
                               {"sha256": "0" * 64}, DecodeJob(True, "raw"))
        assert_not_bootable(disk)
        assert server.requests_for("/image") == []
    finally:
        proc.terminate()
        proc.wait()


async def test_an_unreachable_proxy_is_a_clear_error(server: ImageServer, disk: MemoryHandle) -> None:
    options = HttpOptions(proxy=ProxySettings.from_params({"http": f"http://127.0.0.1:{free_port()}"}, ""))
    with pytest.raises(ProxyError, match="cannot be reached"):
        await stream_image(HttpDownload((server.url("/image"),), options), Target(disk),
                           {"sha256": "0" * 64}, DecodeJob(True, "raw"))


def test_environment_settings_and_no_proxy() -> None:
    env = {"HTTP_PROXY": "http://u:p@10.0.0.1:3128", "no_proxy": ".corp.example,10.1.0.0/16"}
    settings = ProxySettings.from_environ(env)
    assert settings.for_url("http", "images.invalid", 80) is not None
    assert settings.for_url("http", "a.corp.example", 80) is None
    assert settings.for_url("http", "10.1.2.3", 80) is None
    assert settings.for_url("http", "127.0.0.1", 80) is None  # loopback is never proxied from the env
    assert settings.for_url("https", "images.invalid", 443) is None  # no https_proxy given
    proxy = settings.for_url("http", "images.invalid", 80)
    assert proxy is not None and "p@" not in repr(proxy) and proxy.display == "http://***@10.0.0.1:3128"


async def test_https_through_the_proxy_uses_connect(tmp_path: Path, proxy: int) -> None:
    import asyncio
    import ssl

    from test_image_pipeline import self_signed

    self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    raw = disk_image(seed=51)
    async with ImageServer() as plain:
        plain.routes["/image"] = Route(body=raw)
        tls = await asyncio.start_server(plain._handle, "127.0.0.1", 0, ssl=server_ctx)
        port = tls.sockets[0].getsockname()[1]
        try:
            handle = await open_disk(32 << 20)
            options = HttpOptions(ssl_context=ssl.create_default_context(cafile=str(tmp_path / "cert.pem")),
                                  proxy=ProxySettings.from_params({"https": f"http://127.0.0.1:{proxy}"}, ""))
            result = await stream_image(HttpDownload((f"https://127.0.0.1:{port}/image",), options),
                                        Target(handle), {"sha256": hashlib.sha256(raw).hexdigest()},
                                        DecodeJob(True, "raw"))
            assert result.size == len(raw) and content(handle, len(raw)) == raw
            # Inside the tunnel the proxy saw nothing of the request: no Via header reached the server.
            assert "via" not in plain.requests_for("/image")[0].headers
        finally:
            tls.close()
