"""Erasing one disk per its plan: release a known password, plant canaries, erase, verify.

What happened is written into a DiskRecord as it happens (so a failure still leaves its trail); a failed
step raises BackendError. The caller (executor) turns the record and any error into the disk's
certificate — a failure here never touches another disk.

If the chosen method fails in a way that leaves the disk usable — the backend finds it unsupported after
all, the drive froze since planning, the tool refused the command, an ATA step failed and the drive was
restored — the plan's weaker fallbacks are tried in order (each of which rewrites every block anyway) and
the failure is recorded as a skip. An I/O error or a failed verification is never papered over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import (
    BackendError,
    DeviceIOError,
    DeviceRefused,
    DeviceStateError,
    ToolError,
    Unsupported,
)
from teeth_agent.erase.ata_procedure import AtaEraseFailed, ata_secure_erase, release_password
from teeth_agent.erase.ladder import ZEROING, Method
from teeth_agent.erase.planner import QUICK_METHOD, DiskPlan
from teeth_agent.erase.verify import (
    CanaryPlan,
    VerifyResult,
    check_full,
    check_sample,
    gpt_headers_left,
    plan_canaries,
    write_canaries,
)


@dataclass(frozen=True)
class DiskJob:
    plan: DiskPlan
    verify: str  # "sample" | "full" | "none"
    ata_password: str | None
    seed: int
    erase_progress: Progress
    verify_progress: Progress


@dataclass
class DiskRecord:
    """Filled in while a disk is erased; read by the executor whatever the outcome."""

    method: str | None = None
    runtime_skipped: list[dict[str, str]] = field(default_factory=list)
    verification: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _may_fall_back(exc: BackendError) -> bool:
    """Whether the failed method can be assumed to have left the disk as it was (and usable)."""
    if isinstance(exc, AtaEraseFailed):
        return exc.restored and not isinstance(exc.cause, DeviceIOError)
    return isinstance(exc, Unsupported | DeviceStateError | ToolError)


async def run_method(backend: Backend, method: Method, path: str, progress: Progress) -> None:
    """Dispatch one ladder method to the backend."""
    if method is Method.NVME_CRYPTO_FORMAT:
        await backend.nvme_format(path, ses=2, progress=progress)
    elif method is Method.NVME_FORMAT:
        await backend.nvme_format(path, ses=1, progress=progress)
    elif method is Method.NVME_SANITIZE_CRYPTO:
        await backend.nvme_sanitize(path, action="crypto", progress=progress)
    elif method is Method.NVME_SANITIZE_BLOCK:
        await backend.nvme_sanitize(path, action="block", progress=progress)
    elif method in (Method.ATA_ENHANCED_ERASE, Method.ATA_ERASE):
        enhanced = method is Method.ATA_ENHANCED_ERASE
        await ata_secure_erase(backend, path, enhanced=enhanced, progress=progress)
    elif method is Method.DISCARD:
        await backend.discard(path, secure=False, progress=progress)
    elif method is Method.WRITE_ZEROES:
        await backend.write_zeroes(path, progress=progress)
    else:
        await backend.overwrite(path, progress=progress)


async def _plant(backend: Backend, path: str, seed: int) -> CanaryPlan:
    handle = await backend.open_block(path, writable=True)
    try:
        plan = plan_canaries(handle.size, handle.alignment, seed)
        await write_canaries(handle, plan)
        return plan
    finally:
        await handle.close()


async def _check(backend: Backend, job: DiskJob, canaries: CanaryPlan, zeroing: bool) -> VerifyResult:
    result = VerifyResult(job.verify, zeroes_expected=zeroing)
    handle = await backend.open_block(job.plan.device.path, writable=False)
    try:
        check = check_full if job.verify == "full" else check_sample
        await check(handle, canaries, result, job.verify_progress)
    finally:
        await handle.close()
    return result


async def _confirm_identity(backend: Backend, plan: DiskPlan) -> None:
    """The disk at this path must still be the one planned (a hot-swap must not redirect an erase)."""
    now = await backend.refresh_disk(plan.device.path)
    if (now.serial, now.wwn, now.size) != (plan.device.serial, plan.device.wwn, plan.device.size):
        raise DeviceRefused(f"{plan.device.path}: identity changed since planning; not erasing")


async def quick_wipe(backend: Backend, job: DiskJob, record: DiskRecord) -> None:
    path = job.plan.device.path
    found = await backend.wipe_signatures(path)
    record.method = job.plan.method
    record.details["signatures_found"] = list(found)
    job.erase_progress(1, 1)
    if job.verify != "none":
        left = (await backend.refresh_disk(path)).fs_signatures
        handle = await backend.open_block(path, writable=False)
        try:
            gpt = await gpt_headers_left(handle, job.plan.device.logical_sector_size)
        finally:
            await handle.close()
        record.verification = {
            "mode": "signatures",
            "passed": not left and not gpt,
            "signatures_left": list(left),
            "gpt_headers_left": gpt,
        }


async def _erase_with_fallbacks(backend: Backend, job: DiskJob, record: DiskRecord) -> Method:
    names = [job.plan.method or "", *job.plan.fallbacks]
    for i, name in enumerate(names):
        record.method = name
        try:
            await run_method(backend, Method(name), job.plan.device.path, job.erase_progress)
            return Method(name)
        except BackendError as exc:
            if i == len(names) - 1 or not _may_fall_back(exc):
                raise
            record.runtime_skipped.append(
                {"method": name, "reason": f"failed at run time, fell back: {exc.type}: {exc}"}
            )
    raise AssertionError("unreachable: the last method either returned or raised")


async def erase_disk(backend: Backend, job: DiskJob, record: DiskRecord) -> None:
    """Erase one disk, filling `record`. Raises BackendError on failure."""
    plan, path = job.plan, job.plan.device.path
    await _confirm_identity(backend, plan)
    if plan.release_password and job.ata_password is not None:
        await release_password(backend, path, job.ata_password)
    if plan.method == QUICK_METHOD:
        await quick_wipe(backend, job, record)
        return
    canaries = await _plant(backend, path, job.seed) if job.verify != "none" else None
    method = await _erase_with_fallbacks(backend, job, record)
    if canaries is not None:
        result = await _check(backend, job, canaries, zeroing=method in ZEROING)
        record.verification = result.to_json()
