"""Certificates: the digest covers every other field and detects an edit."""

from __future__ import annotations

import hashlib
import json

from teeth_agent.backend.types import BlockDevice, Transport
from teeth_agent.erase.certificate import Run, certificate_digest, make_certificate
from teeth_agent.erase.planner import DiskPlan, Skipped


def _cert() -> dict[str, object]:
    dev = BlockDevice("/dev/sda", 1 << 30, serial="S1", model="M", wwn="0x5000", transport=Transport.SATA)
    plan = DiskPlan(dev, "erase", "ata_erase", skipped=(Skipped("ata_enhanced_erase", "not supported"),))
    run = Run("erased", 100.0, 160.5, 60.5, {"mode": "sample", "passed": True})
    return make_certificate(plan, run, task_id="t1", backend="fake", boot_id="b1")


def test_digest_is_sha256_of_sorted_compact_json_without_the_digest() -> None:
    cert = _cert()
    body = {k: v for k, v in cert.items() if k != "digest"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert cert["digest"] == expected == certificate_digest(cert)


def test_an_edited_certificate_no_longer_matches_its_digest() -> None:
    cert = _cert()
    cert["outcome"] = "failed"
    assert certificate_digest(cert) != cert["digest"]


def test_certificate_carries_identity_method_skips_and_times() -> None:
    cert = _cert()
    assert cert["device"] == {
        "path": "/dev/sda",
        "serial": "S1",
        "model": "M",
        "wwn": "0x5000",
        "size": 1 << 30,
        "logical_sector_size": 512,
        "transport": "sata",
        "firmware_version": None,
    }
    assert cert["method"] == "ata_erase"
    assert cert["skipped_methods"] == [{"method": "ata_enhanced_erase", "reason": "not supported"}]
    assert (cert["started_at"], cert["finished_at"], cert["duration_seconds"]) == (100.0, 160.5, 60.5)
    json.dumps(cert)  # plain JSON all the way down
