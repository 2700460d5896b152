"""qcow2 -> raw with qemu-img, reading the staged qcow2 from a byte range of a disk.

The staged copy lives in a region of a block device (no filesystem needed, so it works on the install
disk alone); qemu-img reads it through a `raw` node with offset and size. Only images that passed
`teeth_agent.images.qcow2.check_qcow2_header` are handed over.
"""

from __future__ import annotations

from teeth_agent.backend.api import Progress
from teeth_agent.backend.linux.exec import Runner

CONVERT_TIMEOUT = 4 * 3600.0


def qemu_img_argv(source: str, offset: int, length: int, target: str) -> list[str]:
    """Pure: the argv. Node options are comma-separated, so a path with a comma is refused."""
    for path in (source, target):
        if "," in path:
            raise ValueError(f"path {path!r} contains a comma, which qemu-img options cannot carry")
    protocol = "host_device" if source.startswith("/dev/") else "file"
    spec = (
        f"driver=qcow2,file.driver=raw,file.offset={offset},file.size={length},"
        f"file.file.driver={protocol},file.file.filename={source}"
    )
    # -U: the source is a region of the target disk itself, so it must not take qemu's image lock;
    # -n: the target exists (a disk); -W: out-of-order writes are fine on a raw target.
    return ["qemu-img", "convert", "-U", "--image-opts", spec, "-O", "raw", "-n", "-W", target]


class QemuImgConverter:
    def __init__(self, runner: Runner, timeout: float = CONVERT_TIMEOUT) -> None:
        self._runner = runner
        self._timeout = timeout

    async def convert_qcow2(
        self, source: str, offset: int, length: int, target: str, *, progress: Progress
    ) -> None:
        progress(0, 1)
        await self._runner.run(qemu_img_argv(source, offset, length, target), timeout=self._timeout)
        progress(1, 1)
