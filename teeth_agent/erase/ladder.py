"""The erase ladder: every method, strongest first, and what each needs from a disk.

Pure: a method's precondition is a function of the disk's reported facts; it returns why the method cannot
run (a sentence an operator can act on) or None. The planner walks the ladder in this order and picks the
first method that is both allowed and possible, recording the reason for every one it passed over.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from teeth_agent.backend.types import AtaSecurity, BlockDevice


class Method(enum.StrEnum):
    NVME_CRYPTO_FORMAT = "nvme_crypto_format"  # Format NVM, SES=2
    NVME_SANITIZE_CRYPTO = "nvme_sanitize_crypto"
    NVME_FORMAT = "nvme_format"  # Format NVM, SES=1
    NVME_SANITIZE_BLOCK = "nvme_sanitize_block"
    ATA_ENHANCED_ERASE = "ata_enhanced_erase"
    ATA_ERASE = "ata_erase"
    DISCARD = "discard"
    WRITE_ZEROES = "write_zeroes"
    OVERWRITE = "overwrite"


# Enum definition order is the ladder order (strongest first).
LADDER: tuple[Method, ...] = tuple(Method)

# Methods after which every readable block is guaranteed to be zero; verification then also checks zeroes.
ZEROING: frozenset[Method] = frozenset({Method.DISCARD, Method.WRITE_ZEROES, Method.OVERWRITE})

ATA_METHODS: frozenset[Method] = frozenset({Method.ATA_ENHANCED_ERASE, Method.ATA_ERASE})


@dataclass(frozen=True)
class Facts:
    """What the planner knows besides the disk itself."""

    ata_password_known: bool
    # Other namespaces of this disk's NVMe controller that are NOT being erased. A format that applies to
    # every namespace (FNA) — and any sanitize, which is controller-wide — would erase them too.
    spared_siblings: tuple[str, ...] = ()


def nvme_controller(path: str) -> str | None:
    """ "/dev/nvme0n1" -> "nvme0"; None for anything that is not an NVMe namespace."""
    match = re.fullmatch(r"/dev/(nvme\d+)n\d+", path)
    return match.group(1) if match else None


def _spares(facts: Facts, what: str) -> str | None:
    if not facts.spared_siblings:
        return None
    return f"{what} would also erase {', '.join(facts.spared_siblings)} on the same controller (not selected)"


Check = Callable[[BlockDevice, Facts], str | None]


def _nvme_crypto_format(dev: BlockDevice, facts: Facts) -> str | None:
    if dev.nvme is None:
        return "not an NVMe device"
    if not dev.nvme.format_supported:
        return "controller does not support Format NVM"
    if not dev.nvme.crypto_erase_supported:
        return "controller does not support cryptographic erase in Format NVM"
    if dev.nvme.format_applies_to_all_namespaces or dev.nvme.crypto_erase_applies_to_all_namespaces:
        return _spares(facts, "a crypto erase that applies to all namespaces")
    return None


def _nvme_sanitize_crypto(dev: BlockDevice, facts: Facts) -> str | None:
    if dev.nvme is None:
        return "not an NVMe device"
    if not dev.nvme.sanitize.crypto:
        return "controller does not support sanitize crypto erase"
    return _spares(facts, "sanitize (controller-wide)")


def _nvme_format(dev: BlockDevice, facts: Facts) -> str | None:
    if dev.nvme is None:
        return "not an NVMe device"
    if not dev.nvme.format_supported:
        return "controller does not support Format NVM"
    if dev.nvme.format_applies_to_all_namespaces:
        return _spares(facts, "a format that applies to all namespaces")
    return None


def _nvme_sanitize_block(dev: BlockDevice, facts: Facts) -> str | None:
    if dev.nvme is None:
        return "not an NVMe device"
    if not dev.nvme.sanitize.block:
        return "controller does not support sanitize block erase"
    return _spares(facts, "sanitize (controller-wide)")


def ata_blocker(dev: BlockDevice, facts: Facts) -> str | None:
    """Why no ATA security erase can run on this disk, or None."""
    if dev.ata_security_hidden_by_bridge:
        return "a bridge (USB/SAS) hides the ATA security feature set; no security command is sent through it"
    sec: AtaSecurity | None = dev.ata_security
    if sec is None or not sec.supported:
        return "drive does not support the ATA security feature set"
    if sec.frozen:
        return "drive is frozen (security freeze lock, usually set by the BIOS at boot)"
    if sec.count_expired:
        return "security attempt counter expired; the drive must be power-cycled"
    if (sec.enabled or sec.locked) and not facts.ata_password_known:
        return "a user password is already set and it is not known (give ata_password)"
    return None


def _ata_enhanced(dev: BlockDevice, facts: Facts) -> str | None:
    reason = ata_blocker(dev, facts)
    if reason is None and dev.ata_security is not None and not dev.ata_security.enhanced_erase_supported:
        return "drive does not support enhanced security erase"
    return reason


def _discard(dev: BlockDevice, facts: Facts) -> str | None:
    if not dev.discard_supported:
        return "device does not support discard"
    if not dev.discard_zeroes:
        return "device does not guarantee that discarded blocks read back as zeroes"
    return None


def _write_zeroes(dev: BlockDevice, facts: Facts) -> str | None:
    if not dev.write_zeroes_supported:
        return "device has no write-zeroes offload"
    return None


def _overwrite(dev: BlockDevice, facts: Facts) -> str | None:
    return None


CHECKS: dict[Method, Check] = {
    Method.NVME_CRYPTO_FORMAT: _nvme_crypto_format,
    Method.NVME_SANITIZE_CRYPTO: _nvme_sanitize_crypto,
    Method.NVME_FORMAT: _nvme_format,
    Method.NVME_SANITIZE_BLOCK: _nvme_sanitize_block,
    Method.ATA_ENHANCED_ERASE: _ata_enhanced,
    Method.ATA_ERASE: ata_blocker,
    Method.DISCARD: _discard,
    Method.WRITE_ZEROES: _write_zeroes,
    Method.OVERWRITE: _overwrite,
}


def blocker(method: Method, dev: BlockDevice, facts: Facts) -> str | None:
    """Why `method` cannot run on `dev`, or None when its preconditions hold."""
    return CHECKS[method](dev, facts)
