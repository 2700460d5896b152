"""Pure parsers for nvme-cli output: `nvme id-ctrl` (JSON or text) and `nvme sanitize-log` (JSON or text).

The erase abilities come from three Identify Controller fields (NVMe base spec):
  OACS    bit 1: Format NVM supported.
  FNA     bit 0: format applies to all namespaces; bit 1: secure erase applies to all namespaces;
          bit 2: cryptographic erase supported (as part of Format, SES=2).
  SANICAP bit 0: crypto erase; bit 1: block erase; bit 2: overwrite.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

from teeth_agent.backend.types import NvmeCaps, SanitizeCaps

_TEXT_FIELD = re.compile(r"^\s*(\w+)\s*:\s*(0x[0-9a-fA-F]+|\d+)\b", re.MULTILINE)


def _int_field(fields: dict[str, Any], name: str) -> int:
    if name not in fields:
        raise ValueError(f"nvme id-ctrl output has no {name!r} field")
    value = fields[name]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"nvme id-ctrl field {name!r} is not a number: {value!r}")
    return value if isinstance(value, int) else int(value, 0)


def _id_ctrl_fields(text_or_json: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(text_or_json, dict):
        return text_or_json
    stripped = text_or_json.lstrip()
    if stripped.startswith("{"):
        loaded = json.loads(stripped)
        if not isinstance(loaded, dict):
            raise ValueError("nvme id-ctrl JSON is not an object")
        return loaded
    return {k.lower(): v for k, v in _TEXT_FIELD.findall(text_or_json)}


def parse_id_ctrl(text_or_json: str | dict[str, Any]) -> NvmeCaps:
    """Erase abilities from `nvme id-ctrl -o json` (or its normal text output, or the decoded JSON)."""
    fields = _id_ctrl_fields(text_or_json)
    oacs = _int_field(fields, "oacs")
    fna = _int_field(fields, "fna")
    sanicap = _int_field(fields, "sanicap") if "sanicap" in fields else 0
    return NvmeCaps(
        format_supported=bool(oacs & 0x2),
        crypto_erase_supported=bool(fna & 0x4),
        format_applies_to_all_namespaces=bool(fna & 0x1),
        crypto_erase_applies_to_all_namespaces=bool(fna & 0x2),
        sanitize=SanitizeCaps(
            crypto=bool(sanicap & 0x1), block=bool(sanicap & 0x2), overwrite=bool(sanicap & 0x4)
        ),
    )


def parse_id_ctrl_firmware(text_or_json: str | dict[str, Any]) -> str | None:
    """The firmware revision ("fr") of `nvme id-ctrl` output, when present."""
    if isinstance(text_or_json, str) and not text_or_json.lstrip().startswith("{"):
        match = re.search(r"^\s*fr\s*:\s*(\S+)", text_or_json, re.MULTILINE)
        return match.group(1) if match else None
    value = _id_ctrl_fields(text_or_json).get("fr")
    revision = str(value).strip() if value is not None else ""
    return revision or None


def parse_id_ns_lbaf(text: str) -> int:
    """The LBA format in use, from `nvme id-ns -o json`: FLBAS bits 3:0, plus bits 6:5 as its high bits."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or "flbas" not in doc:
        raise ValueError("nvme id-ns JSON has no 'flbas' field")
    flbas = int(doc["flbas"])
    return (flbas & 0xF) | ((flbas & 0x60) >> 1)


class SanitizeState(enum.IntEnum):
    """SSTAT bits 2:0."""

    NEVER = 0
    COMPLETED = 1
    IN_PROGRESS = 2
    FAILED = 3
    COMPLETED_NO_DEALLOCATE = 4


@dataclass(frozen=True)
class SanitizeLog:
    state: SanitizeState
    # SPROG / 65536 while a sanitize runs; 1.0 otherwise (the spec sets SPROG to FFFFh when none runs).
    progress: float
    global_data_erased: bool
    # The drive's own estimate in seconds for each action, None when it reports none (FFFFFFFFh).
    estimate_seconds: dict[str, int | None]

    @property
    def succeeded(self) -> bool:
        return self.state in (SanitizeState.COMPLETED, SanitizeState.COMPLETED_NO_DEALLOCATE)


_NO_ESTIMATE = 0xFFFFFFFF
_ESTIMATE_KEYS = {"overwrite": "time_over_write", "block": "time_block_erase", "crypto": "time_crypto_erase"}
_STATUS_VALUE = re.compile(r"^\((\d)\)")


def _sstat_from_json(sstat: Any) -> tuple[int, bool]:
    if isinstance(sstat, int):
        return sstat & 0x7, bool(sstat & 0x100)
    if not isinstance(sstat, dict):
        raise ValueError(f"sanitize log sstat is neither a number nor an object: {sstat!r}")
    # nvme-cli names the status key "status"; some 2.x releases used the status text itself as the key,
    # so the value "(N) text" is found by its shape rather than by its key.
    for value in sstat.values():
        match = _STATUS_VALUE.match(str(value))
        if match:
            return int(match.group(1)), bool(sstat.get("global_erased", 0))
    raise ValueError(f"sanitize log sstat has no status: {sstat!r}")


def _estimate(value: Any) -> int | None:
    number = int(value)
    return None if number == _NO_ESTIMATE else number


def _sanitize_from_json(doc: dict[str, Any]) -> SanitizeLog:
    # The log is keyed by the device name: {"nvme0n1": {...}}.
    body = next(iter(doc.values())) if len(doc) == 1 and isinstance(next(iter(doc.values())), dict) else doc
    if "sprog" not in body or "sstat" not in body:
        raise ValueError("nvme sanitize-log JSON lacks sprog/sstat")
    state, erased = _sstat_from_json(body["sstat"])
    estimates = {
        action: _estimate(body[key]) if key in body else None for action, key in _ESTIMATE_KEYS.items()
    }
    return _sanitize_log(int(body["sprog"]), state, erased, estimates)


_TEXT_SPROG = re.compile(r"\(SPROG\)\s*:\s*(\d+)")
_TEXT_SSTAT = re.compile(r"\(SSTAT\)\s*:\s*(0x[0-9a-fA-F]+|\d+)")
_TEXT_ESTIMATES = {
    "overwrite": re.compile(r"Estimated Time For Overwrite\s*:\s*(\d+)"),
    "block": re.compile(r"Estimated Time For Block Erase\s*:\s*(\d+)"),
    "crypto": re.compile(r"Estimated Time For Crypto Erase\s*:\s*(\d+)"),
}


def _sanitize_from_text(text: str) -> SanitizeLog:
    sprog, sstat = _TEXT_SPROG.search(text), _TEXT_SSTAT.search(text)
    if sprog is None or sstat is None:
        raise ValueError("nvme sanitize-log output lacks SPROG/SSTAT")
    status = int(sstat.group(1), 0)
    estimates: dict[str, int | None] = {}
    for action, pattern in _TEXT_ESTIMATES.items():
        match = pattern.search(text)
        estimates[action] = _estimate(match.group(1)) if match else None
    return _sanitize_log(int(sprog.group(1)), status & 0x7, bool(status & 0x100), estimates)


def _sanitize_log(sprog: int, state: int, erased: bool, estimates: dict[str, int | None]) -> SanitizeLog:
    try:
        parsed_state = SanitizeState(state)
    except ValueError:
        raise ValueError(f"unknown sanitize status {state}") from None
    running = parsed_state is SanitizeState.IN_PROGRESS
    return SanitizeLog(parsed_state, sprog / 65536 if running else 1.0, erased, estimates)


def parse_sanitize_log(text: str) -> SanitizeLog:
    """Sanitize status from `nvme sanitize-log -o json` (or its normal text output)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        doc = json.loads(stripped)
        if not isinstance(doc, dict):
            raise ValueError("nvme sanitize-log JSON is not an object")
        return _sanitize_from_json(doc)
    return _sanitize_from_text(text)
