"""Stale UEFI boot entries: the plan over `efibootmgr -v` output, and the deletion it drives."""

from __future__ import annotations

from pathlib import Path

from teeth_agent.backend.linux.efi_cleanup import remove_stale_entries
from teeth_agent.backend.linux.efibootmgr import parse_efibootmgr, stale_entries
from teeth_agent.backend.linux.exec import FakeRunner, ok

TEXT = (Path(__file__).parent / "data" / "efibootmgr_v_two_earlier_tenants.txt").read_text()


def test_parse() -> None:
    state = parse_efibootmgr(TEXT)
    assert state.order[:3] == ("0007", "0004", "0003")
    by_number = {e.number: e for e in state.entries}
    assert by_number["0001"].label == "UEFI QEMU DVD-ROM QM00005" and by_number["0001"].active
    assert not by_number["0006"].active and by_number["0006"].label == "tenant"
    assert by_number["0003"].device_path.endswith(r"File(\EFI\debian\shimx64.efi)")


def test_earlier_tenants_loaders_go_the_firmwares_own_entries_and_ours_stay() -> None:
    stale = {e.number for e in stale_entries(parse_efibootmgr(TEXT), "tenant")}
    assert stale == {"0003", "0004", "0006"}  # debian, ubuntu and the older tenant entry


def test_nothing_is_ours_when_our_label_is_missing_then_every_os_loader_is_stale() -> None:
    stale = {e.number for e in stale_entries(parse_efibootmgr(TEXT), "someone-else")}
    assert stale == {"0003", "0004", "0006", "0007"}


def test_a_label_separated_by_spaces_only_still_parses() -> None:
    state = parse_efibootmgr("BootOrder: 0001\nBoot0001* my os  HD(1,GPT,x,0x800,0x1000)/File(\\a.efi)\n")
    (entry,) = state.entries
    assert entry.label == "my os" and entry.os_loader


async def test_removal_deletes_exactly_the_stale_entries() -> None:
    runner = FakeRunner({("efibootmgr", "-v"): ok(TEXT), ("efibootmgr", "--bootnum"): ok()})
    removed = await remove_stale_entries(runner, keep_label="tenant")
    assert removed == ("Boot0003 (debian)", "Boot0004 (ubuntu)", "Boot0006 (tenant)")
    deleted = [c[2] for c in runner.calls if "--delete-bootnum" in c]
    assert deleted == ["0003", "0004", "0006"]
