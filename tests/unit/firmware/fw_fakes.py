"""Firmware test fakes as plain data: a machine's components and what flashing each one does,
and a tiny HTTP server on 127.0.0.1 serving a table of files."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from teeth_agent.backend.errors import DeviceIOError, Unsupported
from teeth_agent.backend.types import FirmwareComponent, FirmwareUpdateOutcome
from teeth_agent.tasks.context import TaskContext


def image_for(version: str) -> bytes:
    """An image's content names the version it installs."""
    return f"FIRMWARE:{version}".encode() * 100


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FakeFirmware:
    components: dict[str, FirmwareComponent]
    # id -> "now" | "on_reboot" | "fail" | "lie" | "unsupported"
    behaviour: dict[str, str] = field(default_factory=dict)
    bios: dict[str, str | int | bool] = field(default_factory=dict)
    bios_on_reboot: bool = False
    secure: bool | None = False
    flashed: list[tuple[str, bytes]] = field(default_factory=list)
    name: str = "fake"

    async def firmware_components(self) -> tuple[FirmwareComponent, ...]:
        return tuple(self.components.values())

    async def apply_firmware(
        self, component_id: str, image_path: str, *, progress: object
    ) -> FirmwareUpdateOutcome:
        data = await asyncio.to_thread(Path(image_path).read_bytes)
        self.flashed.append((component_id, data))
        how = self.behaviour.get(component_id, "now")
        progress(1, 2)  # type: ignore[operator]
        if how == "fail":
            raise DeviceIOError("flash write failed")
        if how == "unsupported":
            raise Unsupported("no updater for this component")
        if how == "now":
            version = data[len(b"FIRMWARE:") : data.index(b"FIRMWARE:", 1)].decode()
            comp = self.components[component_id]
            self.components[component_id] = dataclasses.replace(comp, version=version)
        return FirmwareUpdateOutcome(component_id, applied=True, reboot_required=how == "on_reboot")

    async def bios_settings(self) -> dict[str, str | int | bool]:
        return dict(self.bios)

    async def apply_bios_settings(self, settings: dict[str, str | int | bool]) -> bool:
        if not self.bios_on_reboot:
            self.bios.update(settings)
        return self.bios_on_reboot

    async def secure_boot(self) -> bool | None:
        return self.secure

    async def set_secure_boot(self, enabled: bool) -> bool:
        self.secure = enabled
        return True


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
