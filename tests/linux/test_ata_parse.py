"""hdparm -I and smartctl -g security parsing on captured and documented output."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from teeth_agent.backend.linux.ata import (
    parse_hdparm_firmware,
    parse_hdparm_identify,
    parse_smartctl_security,
)
from teeth_agent.backend.types import AtaSecurity

Reader = Callable[[str], str]


def test_not_frozen_ssd_reports_every_flag_and_both_erase_times(data: Reader) -> None:
    assert parse_hdparm_identify(data("hdparm_I_ssd_not_frozen.txt")) == AtaSecurity(
        supported=True, enhanced_erase_supported=True, erase_minutes=2, enhanced_erase_minutes=8)


def test_frozen_drive(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_ssd_frozen.txt"))
    assert state is not None and state.frozen and not state.enabled and not state.locked


def test_enabled_and_locked_drive(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_ssd_enabled_locked.txt"))
    assert state is not None and (state.enabled, state.locked, state.count_expired) == (True, True, False)


def test_attempt_count_expired(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_ssd_count_expired.txt"))
    assert state is not None and state.count_expired and state.locked


def test_drive_without_enhanced_erase_has_only_normal_erase_time(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_hdd_no_enhanced.txt"))
    assert state is not None
    assert not state.enhanced_erase_supported
    assert (state.erase_minutes, state.enhanced_erase_minutes) == (166, None)


def test_more_than_508_minutes_reads_as_the_lower_bound(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_hdd_over_508min.txt"))
    assert state is not None and (state.erase_minutes, state.enhanced_erase_minutes) == (508, 508)


def test_space_indented_output_as_pasted_by_users(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_space_indented_frozen.txt"))
    assert state == AtaSecurity(supported=True, frozen=True, erase_minutes=166)


@pytest.mark.parametrize("name", ["hdparm_I_qemu_harddisk.txt", "hdparm_I_loop.txt"])
def test_no_security_section_is_none(data: Reader, name: str) -> None:
    assert parse_hdparm_identify(data(name)) is None


def test_section_without_status_word_is_not_supported(data: Reader) -> None:
    state = parse_hdparm_identify(data("hdparm_I_no_status_word.txt"))
    assert state is not None and not state.supported


def test_feature_list_line_is_not_mistaken_for_the_section(data: Reader) -> None:
    # "Security Mode feature set" in the Commands/features list must not open the section.
    text = data("hdparm_I_ssd_not_frozen.txt").split("Security: ")[0]
    assert "Security Mode feature set" in text
    assert parse_hdparm_identify(text) is None


def test_firmware_revision(data: Reader) -> None:
    assert parse_hdparm_firmware(data("hdparm_I_ssd_not_frozen.txt")) == "RVT02B6Q"
    assert parse_hdparm_firmware(data("hdparm_I_loop.txt")) is None


@pytest.mark.parametrize(("name", "expected"), [
    ("smartctl_g_security_sec1.txt", AtaSecurity(supported=True)),
    ("smartctl_g_security_sec2_frozen.txt", AtaSecurity(supported=True, frozen=True)),
    ("smartctl_g_security_sec5_enabled.txt", AtaSecurity(supported=True, enabled=True)),
    ("smartctl_g_security_sec4_locked.txt",
     AtaSecurity(supported=True, enabled=True, locked=True, count_expired=True)),
    ("smartctl_g_security_unavailable.txt", None),
    ("smartctl_g_security_unknown_usb_bridge.txt", None),
])
def test_smartctl_security(data: Reader, name: str, expected: AtaSecurity | None) -> None:
    assert parse_smartctl_security(data(name)) == expected


def test_smartctl_unknown_state_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Bogus"):
        parse_smartctl_security("ATA Security is:  Bogus\n")
