"""The image server (Range, truncation, 404) and the relay (drop at the n-th message, recording)."""

from __future__ import annotations

import asyncio

from simulator.fleet.image_server import ImageServer
from simulator.fleet.link_proxy import LinkProxy


async def _get(port: int, path: str, headers: str = "") -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = int(next(ln.split(b":")[1] for ln in lines if ln.lower().startswith(b"content-length")))
    body = b""
    while len(body) < length:
        piece = await reader.read(length - len(body))
        if not piece:
            break
        body += piece
    writer.close()
    return head, body


async def test_image_server_ranges_truncation_and_missing() -> None:
    server = ImageServer()
    data = bytes(range(256)) * 1024
    server.add_blob("img", data)
    server.set_faults("bad", truncate_at=1000)
    await server.start()
    try:
        head, body = await _get(server.port, "/ok/img")
        assert head.startswith(b"HTTP/1.1 200") and body == data
        head, body = await _get(server.port, "/ok/img", "Range: bytes=100-\r\n")
        assert head.startswith(b"HTTP/1.1 206") and body == data[100:]
        _, body = await _get(server.port, "/bad/img")
        assert body == data[:1000]
        _, body = await _get(server.port, "/bad/img")
        assert body == data  # truncated once only
        head, _ = await _get(server.port, "/ok/none")
        assert head.startswith(b"HTTP/1.1 404")
    finally:
        await server.close()


async def test_proxy_records_and_drops_at_the_chosen_message() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            writer.write(b"re:" + line)
            await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
    seen: list[tuple[str, bytes]] = []
    proxy = LinkProxy("127.0.0.1", upstream.sockets[0].getsockname()[1], drop_at_message=2,
                      record=lambda d, line: seen.append((d, line)))
    await proxy.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"one\n")
    assert await reader.readline() == b"re:one\n"
    writer.write(b"two\n")
    await writer.drain()
    rest = await reader.read()  # the link is cut after relaying the 2nd agent line
    assert rest in (b"", b"re:two\n")
    assert proxy.drops == 1 and ("agent", b"one\n") in seen and ("endpoint", b"re:one\n") in seen
    writer.close()
    await proxy.close()
    upstream.close()
    await upstream.wait_closed()
