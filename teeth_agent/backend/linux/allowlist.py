"""The device allowlist (`--only-devices`): which disks the Linux backend may see and touch.

Paths are compared after resolving symlinks, so /dev/disk/by-id/... names the same disk as /dev/sdX.
With an allowlist, every other path is refused before any tool runs; without one every whole disk is
visible (the erase planner's own guards still apply).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from teeth_agent.backend.errors import DeviceNotFound, DeviceRefused


class DeviceGuard:
    def __init__(self, only_devices: Iterable[str] | None = None) -> None:
        self._allowed = (
            None if only_devices is None else frozenset(os.path.realpath(p) for p in only_devices)
        )

    @property
    def restricted(self) -> bool:
        return self._allowed is not None

    @property
    def paths(self) -> tuple[str, ...]:
        """The allowlisted paths (canonical, sorted); empty when unrestricted."""
        return tuple(sorted(self._allowed or ()))

    def present(self) -> tuple[str, ...]:
        """The allowlisted paths that exist right now."""
        return tuple(p for p in self.paths if os.path.exists(p))

    def allows(self, path: str) -> bool:
        return self._allowed is None or os.path.realpath(path) in self._allowed

    def check(self, path: str) -> str:
        """The canonical path of an existing, allowed block device.

        DeviceNotFound when the path names nothing at all; DeviceRefused when it names a device outside the
        allowlist. No tool runs for either.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise DeviceNotFound(f"not an absolute device path: {path!r}")
        canonical = os.path.realpath(path)
        if not os.path.exists(canonical):
            raise DeviceNotFound(f"{path}: no such device")
        if not self.allows(canonical):
            raise DeviceRefused(f"{path} is outside the device allowlist")
        return canonical
