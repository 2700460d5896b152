"""standbye.run_image: config drive, grub, and the choice between kexec and reboot.

`run` does everything that can fail while the endpoint can still be told: it writes the config drive,
installs grub for the boot mode, and when kexec is wanted and viable, loads the kernel (`kexec -l`), so
the result names the action that will really happen; then it wipes the image cache (other images must
not be left for this tenant to read). `after_ack` performs that action, and must only be
called once the endpoint has acknowledged the final `complete` status: after it the agent is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.types import BootMode, KexecTarget
from teeth_agent.boot.configdrive import build_files
from teeth_agent.boot.grub_cfg import GrubConfigError, default_target
from teeth_agent.errors import InvalidParams, NotFound
from teeth_agent.images.cache_index import IndexFile
from teeth_agent.images.cache_wipe import wipe_cache
from teeth_agent.params import get_choice, get_object, get_str

Action = Literal["kexec", "reboot"]


@dataclass(frozen=True)
class RunParams:
    image_id: str
    files: Mapping[str, bytes]
    kexec: Literal["auto", "never"]
    boot_mode: Literal["auto", "bios", "uefi"]
    target: KexecTarget | None  # explicit kernel/initrd/cmdline instead of grub's default entry


def parse_params(params: Mapping[str, Any]) -> RunParams:
    image_id = get_str(params, "image_id")
    files = build_files(params.get("configdrive"))
    kexec = get_choice(params, "kexec", ("auto", "never"), "auto")
    boot = get_object(params, "boot", {})
    mode = get_choice(boot, "mode", ("auto", "bios", "uefi"), "auto", prefix="boot.")
    target = None
    kernel = get_str(boot, "kernel", None, prefix="boot.")
    if kernel is not None:
        target = KexecTarget(kernel, get_str(boot, "initrd", None, prefix="boot."),
                             get_str(boot, "cmdline", "", prefix="boot."))
    elif "initrd" in boot or "cmdline" in boot:
        raise InvalidParams("boot.kernel", "is required when boot.initrd or boot.cmdline is given")
    return RunParams(image_id, files, kexec, mode, target)


async def run(
    backend: Backend, state_dir: Path, params: RunParams, progress: Progress,
    log: logging.LoggerAdapter[logging.Logger],
) -> dict[str, Any]:
    disk = _installed_disk(state_dir, params.image_id)
    progress(0, 3)
    partition = await backend.write_config_drive(disk, params.files)
    progress(1, 3)
    mode = await backend.boot_mode() if params.boot_mode == "auto" else BootMode(params.boot_mode)
    grub = await backend.install_bootloader(disk, mode)
    progress(2, 3)
    action, target, reason = await choose_action(backend, disk, params)
    log.info("run_image %s: %s (%s)", params.image_id, action, reason)
    # Images cached for other deployments must not be left for this tenant to read.
    wiped = await wipe_cache(backend, state_dir)
    progress(3, 3)
    return {
        "image_id": params.image_id,
        "disk": disk,
        "config_drive": partition,
        "bootloader": {"mode": grub.mode.value, "efi_entry": grub.efi_entry,
                       "removed_entries": list(grub.removed_entries)},
        "action": action,
        "kexec": None if target is None else
        {"kernel": target.kernel, "initrd": target.initrd, "cmdline": target.cmdline},
        "reason": reason,
        "cache_wiped": wiped,
    }


def _installed_disk(state_dir: Path, image_id: str) -> str:
    installed = IndexFile.in_dir(state_dir).load().installed
    if installed is None or installed.id != image_id:
        raise NotFound(f"image {image_id} has not been prepared on this machine (run prepare_image first)")
    return str(installed.disk["path"])


async def choose_action(
    backend: Backend, disk: str, params: RunParams
) -> tuple[Action, KexecTarget | None, str]:
    """kexec when asked for (auto), allowed by the kernel, a target is known, and it loads; else reboot
    with the reason, so the endpoint sees why."""
    if params.kexec == "never":
        return "reboot", None, "kexec: never was requested"
    if not await backend.kexec_allowed():
        return "reboot", None, "the running kernel does not allow kexec"
    target = params.target
    if target is None:
        try:
            text = await backend.read_grub_config(disk)
        except BackendError as exc:
            # grub is already installed, so a reboot still boots the image; kexec is only the fast path.
            return "reboot", None, f"cannot read the image's grub.cfg: {exc}"
        if text is None:
            return "reboot", None, "the image has no grub.cfg to take a kernel from"
        try:
            target = default_target(text)
        except GrubConfigError as exc:
            return "reboot", None, str(exc)
    try:
        await backend.kexec_load(disk, target)
    except BackendError as exc:
        return "reboot", None, f"kexec load failed: {exc}"
    source = "explicit boot params" if params.target else "grub default entry"
    return "kexec", target, f"kernel loaded from the {source}"


async def after_ack(backend: Backend, result: Mapping[str, Any]) -> None:
    """Act on a run_image result, once its `complete` status is acknowledged (or the wait timed out)."""
    if result.get("action") == "kexec":
        try:
            await backend.kexec_exec()
            return
        except BackendError:
            pass  # the kernel was loaded but will not start: a reboot still boots the image via grub
    await backend.reboot()
