"""decom.disk_erase params: defaults, and every contradiction named by its field."""

from __future__ import annotations

import pytest

from teeth_agent.erase.ladder import LADDER, Method
from teeth_agent.erase.params import parse_erase_params
from teeth_agent.errors import InvalidParams


def test_defaults_allow_the_whole_ladder_on_every_eligible_disk() -> None:
    p = parse_erase_params({"task_id": "t"})
    assert p.devices is None and p.skip == ()
    assert p.methods == LADDER and p.allow_overwrite
    assert (p.mode, p.verify, p.dry_run, p.ata_password) == ("secure", "sample", False, None)


def test_methods_keep_ladder_order_whatever_order_they_are_given_in() -> None:
    p = parse_erase_params({"methods": ["overwrite", "nvme_format", "ata_erase"]})
    assert p.methods == (Method.NVME_FORMAT, Method.ATA_ERASE, Method.OVERWRITE)


def test_allow_overwrite_false_removes_overwrite_from_the_default_ladder() -> None:
    p = parse_erase_params({"allow_overwrite": False})
    assert not p.allowed(Method.OVERWRITE) and p.allowed(Method.DISCARD)


def test_password_is_not_in_repr() -> None:
    assert "hunter2" not in repr(parse_erase_params({"ata_password": "hunter2"}))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"methods": ["ata_erase", "shred"]}, "methods"),
        ({"methods": []}, "methods"),
        ({"methods": "overwrite"}, "methods"),
        ({"devices": []}, "devices"),
        ({"devices": "/dev/sda"}, "devices"),
        ({"devices": ["/dev/sda", "/dev/sda"]}, "devices"),
        ({"devices": [""]}, "devices"),
        ({"devices": ["/dev/sda"], "skip": ["/dev/sda"]}, "skip"),
        ({"methods": ["overwrite"], "allow_overwrite": False}, "allow_overwrite"),
        ({"mode": "quick", "methods": ["discard"]}, "methods"),
        ({"mode": "quick", "verify": "full"}, "verify"),
        ({"mode": "fast"}, "mode"),
        ({"verify": "all"}, "verify"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"allow_overwrite": 1}, "allow_overwrite"),
        ({"ata_password": ""}, "ata_password"),
        ({"ata_password": "x" * 33}, "ata_password"),
        ({"concurrency": 0}, "concurrency"),
        ({"allow_overwite": False}, "allow_overwite"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        parse_erase_params(params)
    assert err.value.field == field
    assert err.value.payload()["type"] == "invalid_params"
