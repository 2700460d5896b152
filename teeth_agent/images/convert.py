"""What a backend offers to turn a staged qcow2 into raw on a disk (the Linux backend does it with
qemu-img, in `teeth_agent.backend.linux.qemu_img`). Only images that passed `qcow2.check_qcow2_header`
are handed over."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from teeth_agent.backend.api import Progress


@runtime_checkable
class ImageConverter(Protocol):
    async def convert_qcow2(
        self, source: str, offset: int, length: int, target: str, *, progress: Progress
    ) -> None:
        """Write the raw content of the qcow2 at source[offset:offset+length] to the start of target."""
        ...
