"""Erase certificates: one JSON object per disk, sealed with a digest.

The digest is sha256 over the canonical JSON (sorted keys, no spaces, ASCII) of every other field, so
anyone holding a certificate can recompute it with `certificate_digest` and detect an edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from teeth_agent.backend.types import BlockDevice
from teeth_agent.erase.planner import DiskPlan

VERSION = 1
Outcome = Literal["erased", "failed", "refused"]


@dataclass(frozen=True)
class Run:
    """What happened to one disk, as the executor measured it."""

    outcome: Outcome
    started_at: float
    finished_at: float
    duration_seconds: float
    verification: Mapping[str, Any] | None = None
    error: str | None = None
    details: Mapping[str, Any] | None = None
    # The method actually used when a fallback replaced the planned one, and why the planned one failed.
    method: str | None = None
    runtime_skipped: tuple[Mapping[str, str], ...] = ()


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def certificate_digest(cert: Mapping[str, Any]) -> str:
    """sha256 hex of the canonical JSON of `cert` without its `digest` field."""
    body = {k: v for k, v in cert.items() if k != "digest"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def identity(dev: BlockDevice) -> dict[str, Any]:
    return {
        "path": dev.path,
        "serial": dev.serial,
        "model": dev.model,
        "wwn": dev.wwn,
        "size": dev.size,
        "logical_sector_size": dev.logical_sector_size,
        "transport": dev.transport.value,
        "firmware_version": dev.firmware_version,
    }


def make_certificate(plan: DiskPlan, run: Run, *, task_id: str, backend: str, boot_id: str) -> dict[str, Any]:
    cert: dict[str, Any] = {
        "version": VERSION,
        "task_id": task_id,
        "backend": backend,
        "boot_id": boot_id,
        "device": identity(plan.device),
        "method": run.method or plan.method,
        "skipped_methods": [s.to_json() for s in plan.skipped] + [dict(s) for s in run.runtime_skipped],
        "ata_frozen": plan.ata_frozen,
        "warnings": list(plan.warnings),
        "verification": dict(run.verification) if run.verification is not None else None,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": round(run.duration_seconds, 3),
        "outcome": run.outcome,
        "error": run.error if run.error is not None else plan.reason,
        "details": dict(run.details or {}),
    }
    cert["digest"] = certificate_digest(cert)
    return cert
