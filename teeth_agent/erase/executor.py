"""decom.disk_erase: plan, then erase the selected disks in parallel, one certificate each.

Disks run concurrently under a semaphore (params.concurrency) inside one TaskGroup that owns them all. A disk
that fails — an error from the backend, a failed verification, even a bug — fails only itself: its
certificate says what happened and the others carry on. The task completes with `passed` false when any
selected disk was not erased; it raises only for bad params (unknown devices), before any disk is touched.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from teeth_agent.backend.errors import BackendError
from teeth_agent.erase.certificate import Outcome, Run, make_certificate
from teeth_agent.erase.disk import DiskJob, DiskRecord, erase_disk
from teeth_agent.erase.estimate import verify_seconds
from teeth_agent.erase.params import EraseParams
from teeth_agent.erase.planner import DiskPlan, ErasePlan, plan_erase
from teeth_agent.erase.progress import OverallProgress
from teeth_agent.tasks.context import TaskContext

JsonObject = dict[str, Any]


def _verify_share(plan: DiskPlan, verify: str) -> float:
    """Where the erase phase ends and verification starts, as a fraction of the disk's weight."""
    if plan.estimate_seconds <= 0:
        return 0.5
    share = verify_seconds(plan.device, verify) / plan.estimate_seconds
    return 1.0 - min(max(share, 0.0), 0.9)


class _Erasure:
    def __init__(self, ctx: TaskContext, params: EraseParams, plan: ErasePlan, boot_id: str) -> None:
        self.ctx, self.params, self.plan, self.boot_id = ctx, params, plan, boot_id
        work = plan.to_erase()
        self.progress = OverallProgress(ctx.progress, {d.device.path: d.estimate_seconds for d in work})
        self.certificates: dict[str, JsonObject] = {}

    def _job(self, dp: DiskPlan) -> DiskJob:
        path, split = dp.device.path, _verify_share(dp, self.params.verify)
        return DiskJob(
            plan=dp,
            verify=self.params.verify,
            ata_password=self.params.ata_password,
            seed=int.from_bytes(os.urandom(8), "big"),
            erase_progress=self.progress.phase(path, 0.0, split),
            verify_progress=self.progress.phase(path, split, 1.0),
        )

    async def one(self, dp: DiskPlan, sem: asyncio.Semaphore) -> None:
        async with sem:
            clock, log = self.ctx.backend.clock, self.ctx.log
            started, t0 = clock.time(), clock.monotonic()
            record = DiskRecord()
            error: str | None = None
            log.info("erasing %s with %s", dp.device.path, dp.method)
            try:
                await erase_disk(self.ctx.backend, self._job(dp), record)
            except BackendError as exc:
                error = f"{exc.type}: {exc}"
            except Exception as exc:  # one disk's bug must not abandon the others mid-erase
                log.exception("erasing %s failed unexpectedly", dp.device.path)
                error = f"internal: {type(exc).__name__}: {exc}"
            if error is None and record.verification is not None and not record.verification["passed"]:
                error = "verification failed: the disk reported success but was not erased"
            outcome: Outcome = "erased" if error is None else "failed"
            log.info("%s: %s%s", dp.device.path, outcome, f" ({error})" if error else "")
            self.progress.finish(dp.device.path)
            run = Run(
                outcome,
                started,
                clock.time(),
                clock.monotonic() - t0,
                record.verification,
                error,
                record.details,
                record.method,
                tuple(record.runtime_skipped),
            )
            self.certificates[dp.device.path] = self._cert(dp, run)

    def _cert(self, dp: DiskPlan, run: Run) -> JsonObject:
        backend = self.ctx.backend
        return make_certificate(dp, run, task_id=self.ctx.task_id, backend=backend.name, boot_id=self.boot_id)

    def refused(self, dp: DiskPlan) -> None:
        now = self.ctx.backend.clock.time()
        self.certificates[dp.device.path] = self._cert(dp, Run("refused", now, now, 0.0))

    async def run(self) -> None:
        for dp in self.plan.disks:
            detail = dp.method if dp.action == "erase" else dp.reason
            self.ctx.log.info("plan %s: %s (%s)", dp.device.path, dp.action, detail)
            if dp.action == "refuse":
                self.refused(dp)
        self.progress.report()
        sem = asyncio.Semaphore(self.params.concurrency)
        async with asyncio.TaskGroup() as tg:
            for dp in self.plan.to_erase():
                tg.create_task(self.one(dp, sem), name=f"erase {dp.device.path}")

    def result(self) -> JsonObject:
        certs = [self.certificates[p] for p in sorted(self.certificates)]
        skipped = [
            {"device": d.device.identity, "reason": d.reason} for d in self.plan.disks if d.action == "skip"
        ]
        return {
            "passed": all(c["outcome"] == "erased" for c in certs),
            "mode": self.plan.mode,
            "erased": [c["device"]["path"] for c in certs if c["outcome"] == "erased"],
            "failed": [c["device"]["path"] for c in certs if c["outcome"] != "erased"],
            "certificates": certs,
            "skipped": skipped,
        }


async def run_erase(ctx: TaskContext, params: EraseParams) -> JsonObject:
    backend = ctx.backend
    plan = plan_erase(await backend.list_disks(), params)
    if params.dry_run:
        return {"dry_run": True, "plan": plan.to_json()}
    erasure = _Erasure(ctx, params, plan, await backend.boot_id())
    await erasure.run()
    return erasure.result()
