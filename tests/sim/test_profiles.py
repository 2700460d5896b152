"""Shipped profiles load; malformed ones are rejected naming the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import MINIMAL

from simulator.machine.profile import load_profile, profile_names
from simulator.machine.tomlread import SpecError


def test_shipped_profiles_load() -> None:
    names = profile_names()
    assert {"1u-nvme", "storage-12sata", "old-sas", "vm"} <= set(names)
    sata = load_profile("storage-12sata")
    assert sum(d.transport == "sata" for d in sata.disks) == 13
    assert [d.name for d in sata.disks][:3] == ["sda", "sdb", "sdc"]
    assert any(d.ata and d.ata.frozen for d in sata.disks)
    assert any(d.ata and d.ata.hidden_by_bridge for d in sata.disks)
    nvme = load_profile("1u-nvme")
    assert all(d.nvme and d.nvme.crypto_erase for d in nvme.disks)


@pytest.mark.parametrize(
    ("extra", "field", "expected"),
    [
        ('[[disks]]\ntransport = "sata"\nmodel = "X"\nsize = "big"\n', "disks[0].size", "a size like"),
        ('[[disks]]\ntransport = "scsi"\nmodel = "X"\nsize = "1T"\n', "disks[0].transport", "one of sata"),
        ('[[disks]]\ntransport = "sata"\nmodel = "X"\nsize = "1T"\nsizee = 3\n', "disks[0].sizee", "one of"),
        ('[[disks]]\ntransport = "nvme"\nmodel = "X"\nsize = "1T"\n[disks.nvme]\nsanitize = ["zap"]\n',
         "disks[0].nvme.sanitize", "a list drawn from crypto"),
        ('[[disks]]\ntransport = "sata"\nmodel = "X"\nsize = "1T"\ncount = 0\n', "disks[0].count", ">= 1"),
        ('[[disks]]\ntransport = "virtio"\nmodel = "X"\nsize = "1T"\n[[faults]]\nkind = "drop_connection"\n'
         'at_message = 3\n', "faults[0].kind", "a hardware fault"),
        ("", "disks", "at least one"),
    ],
)
def test_malformed_profile_names_file_field_and_expectation(
    tmp_path: Path, extra: str, field: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL + extra)
    with pytest.raises(SpecError) as err:
        load_profile(str(path))
    assert err.value.file == str(path)
    assert err.value.field == field
    assert expected in err.value.expected
    assert str(path) in str(err.value) and field in str(err.value)


def test_syntax_errors_and_unknown_names_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[dmi\n")
    with pytest.raises(SpecError, match="valid TOML"):
        load_profile(str(path))
    with pytest.raises(SpecError, match="one of 1u-nvme"):
        load_profile("no-such-profile")
