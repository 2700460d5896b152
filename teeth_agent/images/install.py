"""Write one image onto an install disk, verified, from any byte source (HTTP or a cache region).

raw: one streaming pass straight onto the disk. qcow2: the verified qcow2 is staged in the second half of
the same disk (local storage, never RAM), checked, then converted by qemu-img onto the start of the disk.
Either way the disk is not bootable until the image is complete and verified; on any failure it is left
not bootable. A disk larger than the image gets its backup GPT moved to its end.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.api import Backend, BlockHandle, Progress
from teeth_agent.backend.types import BlockDevice
from teeth_agent.images.cache_index import Installed
from teeth_agent.images.convert import ImageConverter
from teeth_agent.images.disks import identity
from teeth_agent.images.errors import ImageFormatError, ImageTooLarge
from teeth_agent.images.pipeline import ByteSource, StreamResult, Target, stream_image
from teeth_agent.images.spec import ImageSpec
from teeth_agent.images.worker import DecodeJob
from teeth_agent.images.writer import HEAD_BYTES, mark_not_bootable

STAGE_ALIGN = 1 << 20


@dataclass(frozen=True)
class InstallOutcome:
    disk: str
    size: int  # bytes of raw image on the disk
    stream: StreamResult
    record: Installed
    backup_gpt_repaired: bool

    def to_json(self) -> dict[str, Any]:
        return {"disk": self.disk, "size": self.size, "received": self.stream.received,
                "compression": self.stream.compression, "hashes": self.stream.hashes,
                "backup_gpt_repaired": self.backup_gpt_repaired}


async def install_image(
    backend: Backend, disk: BlockDevice, spec: ImageSpec, source: ByteSource, progress: Progress
) -> InstallOutcome:
    if spec.disk_format == "qcow2":
        stream, size = await _install_qcow2(backend, disk, spec, source, progress)
    else:
        handle = await backend.open_block(disk.path, writable=True)
        try:
            target = Target(handle, bootable=True, declared_size=spec.size)
            stream = await stream_image(source, target, spec.hash_map,
                                        DecodeJob(True, "raw"), progress)
        finally:
            await handle.close()
        size = stream.size
    head = await _head_digest(backend, disk.path)
    repaired = await backend.repair_backup_gpt(disk.path) if disk.size > size else False
    record = Installed(spec.id, spec.hash_map, identity(disk), head, size)
    return InstallOutcome(disk.path, size, stream, record, repaired)


async def _install_qcow2(
    backend: Backend, disk: BlockDevice, spec: ImageSpec, source: ByteSource, progress: Progress
) -> tuple[StreamResult, int]:
    if not isinstance(backend, ImageConverter):
        raise ImageFormatError(f"backend {backend.name!r} cannot convert qcow2 images (no qemu-img)")
    stage = disk.size // 2 // STAGE_ALIGN * STAGE_ALIGN
    handle = await backend.open_block(disk.path, writable=True)
    try:
        await mark_not_bootable(handle)
        stream = await stream_image(source, Target(handle, base=stage), spec.hash_map,
                                    DecodeJob(True, "qcow2"), progress)
    finally:
        await handle.close()
    assert stream.qcow2 is not None
    if spec.size is not None and stream.qcow2.virtual_size > spec.size:
        raise ImageTooLarge(f"qcow2 virtual size {stream.qcow2.virtual_size} is more than the image's "
                            f"declared size of {spec.size} bytes", details={"declared_size": spec.size})
    if stream.qcow2.virtual_size > stage:
        raise ImageTooLarge(f"qcow2 virtual size {stream.qcow2.virtual_size} does not fit before the staged "
                            f"copy at {stage} on {disk.path}")
    try:
        await backend.convert_qcow2(disk.path, stage, stream.size, disk.path, progress=progress)
    except BaseException:
        await _unbootable(backend, disk.path)
        raise
    return stream, stream.qcow2.virtual_size


async def _unbootable(backend: Backend, path: str) -> None:
    handle = await backend.open_block(path, writable=True)
    try:
        await mark_not_bootable(handle)
    finally:
        await handle.close()


async def _head_digest(backend: Backend, path: str) -> str:
    handle = await backend.open_block(path, writable=False)
    try:
        return await head_digest(handle)
    finally:
        await handle.close()


async def head_digest(handle: BlockHandle) -> str:
    """sha256 of the disk's first MiB: cheap evidence that an installed image is still there."""
    return hashlib.sha256(await handle.read_at(0, HEAD_BYTES)).hexdigest()
