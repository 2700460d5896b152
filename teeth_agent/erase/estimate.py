"""Up-front duration estimates per disk, used as the weights of overall progress.

The drive's own estimate wins where it has one (ATA security erase minutes); otherwise size over a
conservative nominal rate. The runner turns progress in these units into an ETA from the measured rate,
so a wrong nominal rate only skews how disks are weighted against each other, never the ETA's basis.
"""

from __future__ import annotations

from teeth_agent.backend.types import BlockDevice
from teeth_agent.erase.ladder import Method

MB = 1_000_000
_CRYPTO_SECONDS = 10.0
_QUICK_SECONDS = 2.0


def write_rate(dev: BlockDevice) -> float:
    """Bytes per second a plain sequential write is assumed to reach."""
    if dev.rotational:
        return 150 * MB
    if dev.nvme is not None:
        return 1500 * MB
    return 400 * MB


def read_rate(dev: BlockDevice) -> float:
    return write_rate(dev) * 1.5


def erase_seconds(dev: BlockDevice, method: Method) -> float:
    sec = dev.ata_security
    if method is Method.ATA_ENHANCED_ERASE and sec is not None and sec.enhanced_erase_minutes:
        return sec.enhanced_erase_minutes * 60.0
    if method in (Method.ATA_ENHANCED_ERASE, Method.ATA_ERASE) and sec is not None and sec.erase_minutes:
        return sec.erase_minutes * 60.0
    if method in (Method.NVME_CRYPTO_FORMAT, Method.NVME_SANITIZE_CRYPTO):
        return _CRYPTO_SECONDS
    if method is Method.DISCARD:
        return _CRYPTO_SECONDS + dev.size / (20_000 * MB)
    if method in (Method.NVME_FORMAT, Method.NVME_SANITIZE_BLOCK, Method.WRITE_ZEROES):
        return dev.size / (write_rate(dev) * 2)
    return dev.size / write_rate(dev)


def verify_seconds(dev: BlockDevice, verify: str) -> float:
    if verify == "full":
        return dev.size / read_rate(dev)
    return 1.0 if verify == "sample" else 0.0


def quick_seconds() -> float:
    return _QUICK_SECONDS
