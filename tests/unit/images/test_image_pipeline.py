"""The streaming pipeline end to end: a local HTTP server -> decode -> hash -> a file-backed BlockHandle."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import random
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from block_fakes import content, forgets_writes_from, open_disk
from image_server import ImageServer, Route
from images_test_support import disk_fixture, server_fixture  # noqa: F401

from teeth_agent.backend.memory import MemoryHandle
from teeth_agent.http.client import HttpDownload, HttpOptions
from teeth_agent.http.errors import DownloadError, HttpStatusError, ReadTimeout
from teeth_agent.images.errors import (
    ChecksumMismatch,
    CorruptImage,
    ImageFormatError,
    ImageTooLarge,
)
from teeth_agent.images.pipeline import StreamResult, Target, stream_image
from teeth_agent.images.worker import DecodeJob

MiB = 1 << 20
FAST = HttpOptions(read_timeout=5.0, retry_delay=0.0, max_resumes=3)


def disk_image(size: int = 6 * MiB + 1234, seed: int = 1) -> bytes:
    """Something shaped like a disk image: a boot sector, random data, runs of zeroes; odd length."""
    rng = random.Random(seed)
    parts = [b"\xeb\x63\x90" + rng.randbytes(509)]
    while sum(map(len, parts)) < size:
        parts.append(rng.randbytes(rng.randrange(1, 200_000)) if rng.random() < 0.6 else bytes(300_000))
    return b"".join(parts)[:size]


def sha256(data: bytes) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest()}


async def write(
    server: ImageServer,
    disk: MemoryHandle,
    body: bytes,
    *,
    expected: dict[str, str] | None = None,
    options: HttpOptions = FAST,
    urls: tuple[str, ...] | None = None,
    declared: str = "raw",
) -> StreamResult:
    server.routes.setdefault("/image", Route(body=body))
    download = HttpDownload(urls or (server.url("/image"),), options)
    return await stream_image(
        download, Target(disk, bootable=True), expected or sha256(body), DecodeJob(True, declared)
    )


def plant_old_image(disk: MemoryHandle) -> None:
    """A previous, bootable-looking image, so a test can see it gets marked not bootable."""
    disk.disk.data.write(0, b"\xeb\x63\x90OLD" + bytes(504) + b"\x55\xaa")
    disk.disk.data.write(disk.size - 512, b"EFI PART" + bytes(504))


def assert_not_bootable(disk: MemoryHandle) -> None:
    assert content(disk, MiB) == bytes(MiB)
    assert content(disk, MiB, disk.size - MiB) == bytes(MiB)


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "none": lambda b: b,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "zstd": lambda b: zstandard.ZstdCompressor(write_checksum=True).compress(b),
}


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
async def test_each_compression_writes_the_exact_image(
    server: ImageServer, disk: MemoryHandle, compression: str
) -> None:
    raw = disk_image()
    body = COMPRESSORS[compression](raw)
    result = await write(server, disk, body)
    assert result.compression == compression
    assert result.size == len(raw)
    assert result.received == len(body)
    assert result.hashes == sha256(body)
    assert content(disk, len(raw)) == raw


async def test_compression_is_detected_from_content_not_name(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=2)
    body = gzip.compress(raw)
    server.routes["/image.raw"] = Route(body=body)
    result = await write(server, disk, body, urls=(server.url("/image.raw"),))
    assert result.compression == "gzip"
    assert content(disk, len(raw)) == raw


async def test_dropped_connection_resumes_with_range(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=3)
    server.routes["/image"] = Route(body=raw, drop_after=[300_000, 2 * MiB])
    await write(server, disk, raw)
    assert content(disk, len(raw)) == raw
    ranges = [r.headers.get("range") for r in server.requests_for("/image")]
    assert ranges == [None, "bytes=300000-", f"bytes={300_000 + 2 * MiB}-"]


async def test_a_link_that_keeps_dropping_but_progressing_is_not_given_up(
    server: ImageServer, disk: MemoryHandle
) -> None:
    raw = disk_image(seed=16)
    server.routes["/image"] = Route(body=raw, drop_after=[1_500_000] * 8)  # > 1 MiB each time
    await write(server, disk, raw, options=HttpOptions(retry_delay=0.0, max_resumes=1))
    assert content(disk, len(raw)) == raw
    assert len(server.requests_for("/image")) == -(-len(raw) // 1_500_000)


async def test_server_without_range_support_is_read_from_the_start(
    server: ImageServer, disk: MemoryHandle
) -> None:
    raw = disk_image(seed=4)
    server.routes["/image"] = Route(body=raw, drop_after=[500_000], ranges=False)
    await write(server, disk, raw)
    assert content(disk, len(raw)) == raw


async def test_truncated_download_that_never_completes_fails_and_is_not_bootable(
    server: ImageServer, disk: MemoryHandle
) -> None:
    raw = disk_image(seed=5)
    plant_old_image(disk)
    # After 100 kB every resumed answer ends at once: no progress, so the resumes run out.
    server.routes["/image"] = Route(body=raw, drop_after=[100_000] + [0] * 10)
    with pytest.raises(DownloadError, match="every URL"):
        await write(server, disk, raw, options=HttpOptions(retry_delay=0.0, max_resumes=2))
    assert_not_bootable(disk)


async def test_truncated_compressed_stream_is_corrupt(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=6)
    body = zstandard.ZstdCompressor().compress(raw)
    cut = body[: len(body) - 100]
    with pytest.raises(CorruptImage, match="truncated"):
        await write(server, disk, cut)
    assert_not_bootable(disk)


async def test_trickling_server_hits_the_per_read_timeout(server: ImageServer, disk: MemoryHandle) -> None:
    server.routes["/image"] = Route(body=disk_image(seed=7), trickle_delay=2.0)
    options = HttpOptions(read_timeout=0.2, retry_delay=0.0, max_resumes=1)
    with pytest.raises(ReadTimeout, match=r"no data for 0\.2 s"):
        await write(server, disk, b"x", options=options, expected=sha256(b"x"))
    assert_not_bootable(disk)


async def test_404_is_not_retried(server: ImageServer, disk: MemoryHandle) -> None:
    with pytest.raises(HttpStatusError) as caught:
        await write(server, disk, b"", urls=(server.url("/missing"),), expected=sha256(b""))
    assert caught.value.status == 404
    assert len(server.requests_for("/missing")) == 1


async def test_urls_are_tried_in_order(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=8)
    server.routes["/broken"] = Route(status=503)
    server.routes["/image"] = Route(body=raw)
    await write(server, disk, raw, urls=(server.url("/missing"), server.url("/broken"), server.url("/image")))
    assert content(disk, len(raw)) == raw
    assert [r.path for r in server.requests] == ["/missing", "/broken", "/image"]


async def test_redirects_are_followed_and_bounded(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=9)
    server.routes["/image"] = Route(body=raw)
    server.routes["/moved"] = Route(location="/image")
    server.routes["/loop"] = Route(location="/loop")
    await write(server, disk, raw, urls=(server.url("/moved"),))
    assert content(disk, len(raw)) == raw
    with pytest.raises(HttpStatusError, match="redirects"):
        await write(server, disk, raw, urls=(server.url("/loop"),))


async def test_chunked_transfer_encoding(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=10)
    server.routes["/image"] = Route(body=raw, chunked=True)
    await write(server, disk, raw)
    assert content(disk, len(raw)) == raw


async def test_wrong_checksum_leaves_the_disk_not_bootable(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=11)
    plant_old_image(disk)
    with pytest.raises(ChecksumMismatch) as caught:
        await write(server, disk, raw, expected={"sha256": "0" * 64})
    assert caught.value.details is not None and caught.value.details["actual"] == sha256(raw)["sha256"]
    assert_not_bootable(disk)


async def test_every_named_digest_must_match(server: ImageServer, disk: MemoryHandle) -> None:
    raw = disk_image(seed=12)
    good = sha256(raw) | {"sha512": "0" * 128}
    with pytest.raises(ChecksumMismatch, match="sha512"):
        await write(server, disk, raw, expected=good)


async def test_image_larger_than_the_disk(server: ImageServer) -> None:
    small = await open_disk(4 * MiB)
    raw = disk_image(seed=13)  # 6 MiB
    with pytest.raises(ImageTooLarge, match="larger than the target"):
        await write(server, small, zstandard.ZstdCompressor().compress(raw))
    assert_not_bootable(small)


def qcow2_header(*, backing: bool = False, version: int = 3) -> bytes:
    header = struct.pack(
        ">4sIQIIQIIQQIIQ", b"QFI\xfb", version, 0x200 if backing else 0, 5 if backing else 0, 16,
        64 * MiB, 0, 1, 0x30000, 0x10000, 1, 0, 0,
    )
    if version == 3:
        header += struct.pack(">QQQII", 0, 0, 0, 4, 104)
    header += bytes(8)  # end of header extensions
    return header.ljust(0x200, b"\x00") + (b"base.img" if backing else b"")


async def test_qcow2_with_backing_file_is_rejected(server: ImageServer, disk: MemoryHandle) -> None:
    body = qcow2_header(backing=True).ljust(2 * MiB, b"\x00")
    with pytest.raises(ImageFormatError, match="backing file"):
        await write(server, disk, body, declared="qcow2")
    assert_not_bootable(disk)


async def test_declared_raw_but_qcow2_content_is_rejected(server: ImageServer, disk: MemoryHandle) -> None:
    body = gzip.compress(qcow2_header().ljust(2 * MiB, b"\x00"))
    with pytest.raises(ImageFormatError, match="declared raw but its content is qcow2"):
        await write(server, disk, body, declared="raw")


async def test_cancelling_a_write_stops_every_stage_and_leaves_the_disk_unbootable(
    server: ImageServer, disk: MemoryHandle
) -> None:
    import asyncio
    import threading

    raw = disk_image(seed=14)
    plant_old_image(disk)
    server.routes["/image"] = Route(body=raw, stall_after=3 * MiB)  # the write is caught mid-stream
    threads_before = threading.active_count()
    started = asyncio.Event()

    def progress(done: float, total: float) -> None:
        started.set()

    download = HttpDownload((server.url("/image"),), FAST)
    job = asyncio.create_task(
        stream_image(download, Target(disk, bootable=True), sha256(raw), DecodeJob(True, "raw"), progress)
    )
    await started.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert_not_bootable(disk)
    assert threading.active_count() <= threads_before + 1  # the decode and hash threads are gone


def self_signed(work: Path) -> None:
    """cert.pem/key.pem for 127.0.0.1 in `work`."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(work / "key.pem"), "-out",
         str(work / "cert.pem")], check=True, capture_output=True)


async def test_https_download_verifies_the_server(tmp_path: Path) -> None:
    import asyncio
    import ssl

    work = tmp_path
    self_signed(work)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(work / "cert.pem", work / "key.pem")
    raw = disk_image(seed=15)
    async with ImageServer() as plain:
        plain.routes["/image"] = Route(body=raw)
        tls = await asyncio.start_server(plain._handle, "127.0.0.1", 0, ssl=server_ctx)
        port = tls.sockets[0].getsockname()[1]
        url = f"https://127.0.0.1:{port}/image"
        try:
            client_ctx = ssl.create_default_context(cafile=str(work / "cert.pem"))
            handle = await open_disk(32 * MiB)
            result = await stream_image(HttpDownload((url,), HttpOptions(ssl_context=client_ctx)),
                                        Target(handle), sha256(raw), DecodeJob(True, "raw"))
            assert result.size == len(raw) and content(handle, len(raw)) == raw
            with pytest.raises(DownloadError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                await stream_image(HttpDownload((url,), HttpOptions(retry_delay=0.0, max_resumes=0)),
                                   Target(handle), sha256(raw), DecodeJob(True, "raw"))
        finally:
            tls.close()


async def test_a_disk_that_does_not_keep_writes_fails_read_back(server: ImageServer) -> None:
    from teeth_agent.backend.errors import VerificationFailed

    # What the disk held before stays past 8 MiB: writes there are acknowledged and never stored.
    forgetful = await open_disk(32 * MiB, fill=0x5A, handler=forgets_writes_from(8 * MiB))
    raw = disk_image(20 * MiB, seed=17)
    with pytest.raises(VerificationFailed, match="read-back"):
        await write(server, forgetful, raw)
    assert content(forgetful, MiB) == bytes(MiB)  # not bootable


async def test_tiny_image_is_padded_written_and_verified(server: ImageServer, disk: MemoryHandle) -> None:
    raw = b"\xeb\x63\x90tiny"
    result = await write(server, disk, raw)
    assert result.size == len(raw)
    assert content(disk, 512) == raw.ljust(512, b"\0")
