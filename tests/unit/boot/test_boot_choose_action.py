"""How run_image picks kexec or reboot when the image cannot be read."""

from __future__ import annotations

import asyncio
from typing import Any

from teeth_agent.backend.errors import ToolError
from teeth_agent.backend.types import KexecTarget
from teeth_agent.boot.run_image import RunParams, choose_action


class UnreadableImage:
    """A backend whose kernel allows kexec but whose image's partitions cannot be mounted."""

    def __init__(self) -> None:
        self.loaded: list[KexecTarget] = []

    async def kexec_allowed(self) -> bool:
        return True

    async def read_grub_config(self, disk: str) -> str | None:
        raise ToolError(["mount", "-o", "ro", f"{disk}1", "/mnt"], 32, "mount: wrong fs type, bad superblock")

    async def kexec_load(self, disk: str, target: KexecTarget) -> None:
        self.loaded.append(target)


def test_a_grub_cfg_that_cannot_be_read_means_reboot_with_the_reason() -> None:
    backend: Any = UnreadableImage()
    params = RunParams(image_id="img", files={}, kexec="auto", boot_mode="auto", target=None)
    action, target, reason = asyncio.run(choose_action(backend, "/dev/sda", params))
    assert (action, target) == ("reboot", None)
    assert "cannot read the image's grub.cfg" in reason and "mount exited 32" in reason
    assert backend.loaded == []
