"""Firmware test machines as plain data (a machine's components and what flashing each one does, on the
public MemoryBackend), and a tiny HTTP server on 127.0.0.1 serving a table of files."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from teeth_agent.backend.api import SettingValue
from teeth_agent.backend.errors import DeviceIOError, Unsupported
from teeth_agent.backend.memory import LIE, Call, MemoryBackend, MemoryFirmware, MemoryMachine, Outcome
from teeth_agent.backend.types import FirmwareComponent
from teeth_agent.tasks.context import TaskContext


def image_for(version: str) -> bytes:
    """An image's content names the version it installs."""
    return f"FIRMWARE:{version}".encode() * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_of(image: bytes) -> str | None:
    """What flashing an `image_for` image installs."""
    magic = b"FIRMWARE:"
    if not image.startswith(magic):
        return None
    end = image.find(magic, 1)
    return image[len(magic) : end if end > 0 else len(image)].decode()


class FakeFirmware(MemoryBackend):
    """The public MemoryBackend with these components; `behaviour` says what flashing each one does:
    "now" (the default), "on_reboot", "fail", "lie" or "unsupported". `flashed` lists what reached a flash."""

    def __init__(
        self,
        components: dict[str, FirmwareComponent],
        behaviour: dict[str, str] | None = None,
        *,
        bios: dict[str, SettingValue] | None = None,
        bios_on_reboot: bool = False,
        secure: bool | None = False,
    ) -> None:
        self.behaviour = behaviour or {}
        firmware = MemoryFirmware(
            dict(components),
            image_version=version_of,
            applies_on_reboot={cid for cid, how in self.behaviour.items() if how == "on_reboot"},
            bios=dict(bios or {}),
            bios_applies_on_reboot=bios_on_reboot,
            secure_boot=secure,
        )
        super().__init__(MemoryMachine(firmware=firmware), handler=self._react)
        self.flashed: list[tuple[str, bytes]] = []

    def _react(self, call: Call) -> Outcome:
        if call.op != "apply_firmware":
            return None
        self.flashed.append((call.target, call.args["image"]))
        how = self.behaviour.get(call.target, "now")
        if how == "fail":
            raise DeviceIOError("flash write failed")
        if how == "unsupported":
            raise Unsupported("no updater for this component")
        return LIE if how == "lie" else None


def comp(
    id: str,
    component: str,
    version: str,
    *,
    model: str = "M1",
    updatable: bool = True,
    reason: str | None = None,
) -> FirmwareComponent:
    return FirmwareComponent(component, id, "Acme", model, version, updatable, reason)


@asynccontextmanager
async def serve(files: dict[str, bytes]) -> AsyncIterator[str]:
    """HTTP/1.1 on 127.0.0.1: GET /name -> files[name] or 404. Yields the base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1].decode().lstrip("/")
        body = files.get(path)
        if body is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        else:
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
            )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


def make_ctx(backend: object, progress: list[tuple[float, float]]) -> TaskContext:
    return TaskContext(
        task_id="t1",
        method="decom.firmware_secure",
        backend=backend,  # type: ignore[arg-type]
        progress=lambda done, total: progress.append((done, total)),
        log=logging.LoggerAdapter(logging.getLogger("test"), {"task_id": "t1"}),
        state_dir=Path("/nonexistent"),
    )
