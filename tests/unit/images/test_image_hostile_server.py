"""A hostile or broken server (issue 13): malformed chunk sizes, redirects that downgrade, and images that
decode past their declared size. Each is a clear error and the disk is left not bootable."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ssl
from pathlib import Path

import pytest
from block_fakes import content, open_disk
from image_server import ImageServer, Route
from images_test_support import disk_fixture, server_fixture  # noqa: F401
from test_image_pipeline import FAST, assert_not_bootable, disk_image, plant_old_image, self_signed, write

from teeth_agent.backend.memory import Call, MemoryHandle, Outcome
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.http.errors import DownloadError, RedirectRefused
from teeth_agent.http.wire import parse_chunk_size
from teeth_agent.images.errors import ImageTooLarge
from teeth_agent.images.pipeline import Target, stream_image
from teeth_agent.images.worker import DecodeJob

MiB = 1 << 20


@pytest.mark.parametrize("line", [b"-5", b"+5", b"0x5", b"5_0", b" ", b"", b"1" * 17, b"g"])
def test_chunk_sizes_other_than_plain_hex_are_refused(line: bytes) -> None:
    with pytest.raises(ValueError, match="bad chunk size"):
        parse_chunk_size(line)


def test_chunk_size_with_extension_and_padding() -> None:
    assert parse_chunk_size(b"1A;name=value") == 26
    assert parse_chunk_size(b"ff \t") == 255


def chunked(*pieces: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + b"".join(pieces)


async def test_a_negative_chunk_size_fails_the_download(server: ImageServer, disk: MemoryHandle) -> None:
    body = b"\xeb\x63\x90hello"
    # Before the fix "-5" parsed as -5, read as an empty chunk, and the body was accepted as complete.
    server.routes["/image"] = Route(raw=chunked(b"8\r\n" + body + b"\r\n", b"-5\r\n\r\n", b"0\r\n\r\n"))
    plant_old_image(disk)
    with pytest.raises(DownloadError, match="bad chunk size"):
        await write(server, disk, body, options=HttpOptions(retry_delay=0.0, max_resumes=0))
    assert_not_bootable(disk)


async def test_a_well_formed_chunked_answer_still_passes(server: ImageServer, disk: MemoryHandle) -> None:
    body = b"\xeb\x63\x90hello"
    server.routes["/image"] = Route(raw=chunked(b"8;x=y\r\n" + body + b"\r\n", b"0\r\n\r\n"))
    result = await write(server, disk, body)
    assert result.size == len(body) and content(disk, len(body)) == body


async def test_redirect_to_another_scheme_is_refused(server: ImageServer, disk: MemoryHandle) -> None:
    server.routes["/image"] = Route(location="file:///etc/shadow")
    with pytest.raises(RedirectRefused, match="file: URL refused"):
        await write(server, disk, b"x")
    assert len(server.requests_for("/image")) == 1  # not retried


async def test_redirect_from_https_to_http_is_refused(tmp_path: Path) -> None:
    self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    raw = disk_image(seed=40)
    async with ImageServer() as plain:
        plain.routes["/image"] = Route(body=raw)
        plain.routes["/down"] = Route(location=plain.url("/image"))  # https://... -> http://...
        tls = await asyncio.start_server(plain._handle, "127.0.0.1", 0, ssl=server_ctx)
        port = tls.sockets[0].getsockname()[1]
        try:
            handle = await open_disk(32 * MiB)
            options = HttpOptions(ssl_context=ssl.create_default_context(cafile=str(tmp_path / "cert.pem")),
                                  retry_delay=0.0)
            download = HttpDownload((f"https://127.0.0.1:{port}/down",), options)
            with pytest.raises(RedirectRefused, match="from https to http refused"):
                await stream_image(download, Target(handle, bootable=True),
                                   {"sha256": hashlib.sha256(raw).hexdigest()}, DecodeJob(True, "raw"))
            assert plain.requests_for("/image") == []  # the plain-text URL was never asked
            assert_not_bootable(handle)
        finally:
            tls.close()


async def test_a_bomb_stops_at_the_declared_size_not_the_disk(server: ImageServer, tmp_path: Path) -> None:
    writes: list[int] = []

    def count_writes(call: Call) -> Outcome:
        if call.op == "write_at":
            writes.append(call.args["offset"])
        return None

    disk = await open_disk(256 * MiB, handler=count_writes)
    plant_old_image(disk)
    body = gzip.compress(bytes(200 * MiB), compresslevel=1)  # ~200 KiB that decode to 200 MiB
    server.routes["/image"] = Route(body=body)
    download = HttpDownload((server.url("/image"),), FAST)
    target = Target(disk, bootable=True, declared_size=8 * MiB)
    with pytest.raises(ImageTooLarge, match="declared size of 8388608"):
        await stream_image(download, target, {"sha256": hashlib.sha256(body).hexdigest()},
                           DecodeJob(True, "raw"))
    assert_not_bootable(disk)
    # Stopped at once: nothing was written past the declared size (the buffers in flight are smaller).
    assert content(disk, MiB, 16 * MiB) == bytes(MiB)
    assert len(writes) < 8


async def test_an_image_of_exactly_its_declared_size_passes(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=41)
    body = gzip.compress(raw)
    server.routes["/image"] = Route(body=body)
    target = Target(disk, bootable=True, declared_size=len(raw))
    download = HttpDownload((server.url("/image"),), FAST)
    result = await stream_image(download, target, {"sha256": hashlib.sha256(body).hexdigest()},
                                DecodeJob(True, "raw"))
    assert result.size == len(raw)
