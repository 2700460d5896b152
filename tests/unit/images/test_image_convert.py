"""qcow2 conversion through qemu-img (the real tool, via the backend's runner) on file targets."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from image_server import ImageServer, Route
from test_image_pipeline import qcow2_header

from teeth_agent.backend.api import Progress, no_progress
from teeth_agent.backend.linux.exec import SubprocessRunner
from teeth_agent.backend.linux.qemu_img import QemuImgConverter, qemu_img_argv
from teeth_agent.backend.memory import FileBytes, MemoryBackend, MemoryMachine, memory_disk
from teeth_agent.backend.types import BlockDevice
from teeth_agent.http.client import HttpDownload
from teeth_agent.images.errors import ImageFormatError
from teeth_agent.images.install import install_image
from teeth_agent.images.qcow2 import check_qcow2_header
from teeth_agent.images.spec import parse_image

MiB = 1 << 20
needs_qemu_img = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img not installed")


def test_argv_reads_a_region_and_refuses_commas() -> None:
    argv = qemu_img_argv("/dev/sda", 4 * MiB, 1000, "/dev/sda")
    spec = argv[argv.index("--image-opts") + 1]
    assert argv[:2] == ["qemu-img", "convert"]
    assert "file.offset=4194304" in spec and "file.size=1000" in spec
    assert "file.file.driver=host_device" in spec
    with pytest.raises(ValueError, match="comma"):
        qemu_img_argv("/tmp/a,b", 0, 1, "/dev/sda")


def make_qcow2(tmp_path: Path, raw: bytes) -> bytes:
    (tmp_path / "raw.bin").write_bytes(raw)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(tmp_path / "raw.bin"),
                    str(tmp_path / "img.qcow2")], check=True)
    return (tmp_path / "img.qcow2").read_bytes()


def prefix(path: Path | str, length: int) -> bytes:
    with open(path, "rb") as f:
        return f.read(length)


def staged_disk(tmp_path: Path, raw: bytes, stage: int) -> tuple[Path, int]:
    """A 32 MiB disk file with `raw` as qcow2 (made by qemu-img) written at `stage`."""
    qcow2 = make_qcow2(tmp_path, raw)
    assert check_qcow2_header(qcow2[:MiB]).virtual_size == len(raw)
    disk = tmp_path / "disk.img"
    with open(disk, "wb") as f:
        f.truncate(32 * MiB)
        os.pwrite(f.fileno(), qcow2, stage)
    return disk, len(qcow2)


@needs_qemu_img
async def test_staged_qcow2_converts_onto_the_start_of_the_same_file(tmp_path: Path) -> None:
    raw = random.Random(3).randbytes(3 * MiB) + bytes(MiB) + b"tail".ljust(512, b"!")
    disk, length = staged_disk(tmp_path, raw, 16 * MiB)
    converter = QemuImgConverter(SubprocessRunner())
    await converter.convert_qcow2(str(disk), 16 * MiB, length, str(disk), progress=no_progress)
    assert prefix(disk, len(raw)) == raw


class FileBackend(MemoryBackend):
    """The MemoryBackend with files as disks (so qemu-img can open them), plus qcow2 conversion."""

    def __init__(self, disks: dict[str, int]) -> None:
        files = (memory_disk(p, size, data=FileBytes(Path(p), size)) for p, size in disks.items())
        super().__init__(MemoryMachine.of(*files))
        self.converter = QemuImgConverter(SubprocessRunner())

    @property
    def gpt_repairs(self) -> list[str]:
        return [target for op, target in self.calls if op == "repair_backup_gpt"]

    async def convert_qcow2(self, source: str, offset: int, length: int, target: str, *,
                            progress: Progress) -> None:
        await self.converter.convert_qcow2(source, offset, length, target, progress=progress)


@needs_qemu_img
async def test_install_qcow2_from_http_gzip(tmp_path: Path) -> None:
    raw = random.Random(4).randbytes(2 * MiB) + bytes(2 * MiB)
    body = gzip.compress(make_qcow2(tmp_path, raw))
    disk_path = str(tmp_path / "disk.img")
    backend = FileBackend({disk_path: 32 * MiB})
    spec = parse_image({"id": "q", "urls": ["http://127.0.0.1/x"], "disk_format": "qcow2",
                        "hashes": {"sha256": hashlib.sha256(body).hexdigest()}})
    async with ImageServer() as server:
        server.routes["/q"] = Route(body=body)
        disk = BlockDevice(path=disk_path, size=32 * MiB)
        outcome = await install_image(backend, disk, spec, HttpDownload((server.url("/q"),)),  # type: ignore[arg-type]
                                      no_progress)
    assert outcome.size == len(raw) and outcome.stream.compression == "gzip"
    assert prefix(disk_path, len(raw)) == raw
    assert backend.gpt_repairs == [disk_path]


async def test_install_qcow2_with_backing_file_is_refused_and_not_bootable(tmp_path: Path) -> None:
    body = qcow2_header(backing=True).ljust(MiB, b"\0")
    disk_path = tmp_path / "disk.img"
    disk_path.write_bytes(b"\xeb\x63\x90OLD-BOOT-SECTOR".ljust(32 * MiB, b"\1"))
    backend = FileBackend({str(disk_path): 32 * MiB})
    spec = parse_image({"id": "q", "urls": ["http://127.0.0.1/x"], "disk_format": "qcow2",
                        "hashes": {"sha256": hashlib.sha256(body).hexdigest()}})
    async with ImageServer() as server:
        server.routes["/q"] = Route(body=body)
        disk = BlockDevice(path=str(disk_path), size=32 * MiB)
        with pytest.raises(ImageFormatError, match="backing file"):
            await install_image(backend, disk, spec, HttpDownload((server.url("/q"),)),  # type: ignore[arg-type]
                                no_progress)
    assert prefix(disk_path, MiB) == bytes(MiB)
