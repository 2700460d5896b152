"""nvme id-ctrl and sanitize-log parsing."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from teeth_agent.backend.linux.nvme import (
    SanitizeState,
    parse_id_ctrl,
    parse_id_ctrl_firmware,
    parse_sanitize_log,
)
from teeth_agent.backend.types import NvmeCaps, SanitizeCaps

Reader = Callable[[str], str]


def test_datacenter_drive_crypto_erase_per_namespace_and_sanitize(data: Reader) -> None:
    assert parse_id_ctrl(data("nvme_id_ctrl_datacenter.json")) == NvmeCaps(
        format_supported=True, crypto_erase_supported=True,
        sanitize=SanitizeCaps(crypto=True, block=True, overwrite=False))


def test_text_output_reads_the_same_as_json(data: Reader) -> None:
    assert parse_id_ctrl(data("nvme_id_ctrl_datacenter.txt")) == parse_id_ctrl(
        data("nvme_id_ctrl_datacenter.json"))


def test_all_namespace_flags_and_high_sanicap_bits_ignored(data: Reader) -> None:
    caps = parse_id_ctrl(data("nvme_id_ctrl_all_ns_sanitize_all.json"))
    assert caps.format_applies_to_all_namespaces and caps.crypto_erase_applies_to_all_namespaces
    assert caps.sanitize == SanitizeCaps(crypto=True, block=True, overwrite=True)


def test_qemu_controller_formats_without_crypto_or_sanitize(data: Reader) -> None:
    assert parse_id_ctrl(data("nvme_id_ctrl_qemu.json")) == NvmeCaps(format_supported=True)


def test_controller_without_format(data: Reader) -> None:
    assert not parse_id_ctrl(data("nvme_id_ctrl_no_format.json")).format_supported


def test_decoded_json_is_accepted(data: Reader) -> None:
    doc = json.loads(data("nvme_id_ctrl_datacenter.json"))
    assert parse_id_ctrl(doc).crypto_erase_supported


def test_missing_field_names_it() -> None:
    with pytest.raises(ValueError, match="oacs"):
        parse_id_ctrl('{"fna": 4}')


def test_firmware_revision_json_and_text(data: Reader) -> None:
    assert parse_id_ctrl_firmware(data("nvme_id_ctrl_datacenter.json")) == "GDC5602Q"
    assert parse_id_ctrl_firmware(data("nvme_id_ctrl_datacenter.txt")) == "GDC5602Q"


def test_sanitize_in_progress_reports_fraction_and_estimates(data: Reader) -> None:
    log = parse_sanitize_log(data("nvme_sanitize_log_in_progress.json"))
    assert (log.state, log.progress, log.succeeded) == (SanitizeState.IN_PROGRESS, 0.25, False)
    assert log.estimate_seconds == {"overwrite": None, "block": 120, "crypto": 10}


def test_sanitize_completed(data: Reader) -> None:
    log = parse_sanitize_log(data("nvme_sanitize_log_completed.json"))
    assert log.succeeded and log.global_data_erased and log.progress == 1.0


def test_sanitize_failed_and_never(data: Reader) -> None:
    assert parse_sanitize_log(data("nvme_sanitize_log_failed.json")).state is SanitizeState.FAILED
    assert parse_sanitize_log(data("nvme_sanitize_log_never.json")).state is SanitizeState.NEVER


def test_sanitize_status_under_its_text_key(data: Reader) -> None:
    log = parse_sanitize_log(data("nvme_sanitize_log_status_text_key.json"))
    assert (log.state, log.progress) == (SanitizeState.IN_PROGRESS, 0.5)


def test_sanitize_text_output(data: Reader) -> None:
    log = parse_sanitize_log(data("nvme_sanitize_log_in_progress.txt"))
    assert (log.state, log.progress, log.estimate_seconds["block"]) == (SanitizeState.IN_PROGRESS, 0.5, 120)


def test_sanitize_garbage_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="SPROG"):
        parse_sanitize_log("nothing here")
