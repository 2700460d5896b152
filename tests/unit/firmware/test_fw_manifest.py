"""The firmware manifest: bad checksums and shapes are InvalidParams naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from teeth_agent.errors import InvalidParams
from teeth_agent.firmware.manifest import FirmwareImage, parse_manifest

GOOD = "AB" * 32


def entry(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "component": "bios",
        "match": {"vendor": "Dell", "model": "R640"},
        "version": "2.1.0",
        "image": {"urls": ["http://127.0.0.1:8080/bios.bin"], "hashes": {"sha256": GOOD}},
    }
    base.update(kw)
    return base


def test_manifest_parses_and_lowercases_the_digest() -> None:
    m = parse_manifest(
        {
            "task_id": "t",
            "firmware": [entry()],
            "settings": {"bios": {"SriovGlobalEnable": True}},
            "secure_boot": True,
        }
    )
    assert m.firmware[0].image == FirmwareImage(("http://127.0.0.1:8080/bios.bin",), GOOD.lower())
    assert (m.firmware[0].vendor, m.firmware[0].model) == ("Dell", "R640")
    assert m.settings == {"bios": {"SriovGlobalEnable": True}} and m.secure_boot is True


def test_empty_manifest_means_nothing_to_do() -> None:
    m = parse_manifest({})
    assert m.firmware == () and m.settings == {} and m.secure_boot is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (
            {"firmware": [entry(image={"urls": ["http://h/x"], "hashes": {"sha256": "abc"}})]},
            "firmware[0].image.hashes.sha256",
        ),
        (
            {"firmware": [entry(image={"urls": ["http://h/x"], "hashes": {"sha256": "z" * 64}})]},
            "firmware[0].image.hashes.sha256",
        ),
        (
            {"firmware": [entry(image={"urls": ["http://h/x"], "hashes": {}})]},
            "firmware[0].image.hashes.sha256",
        ),
        (
            {"firmware": [entry(image={"urls": ["http://h/x"], "hashes": {"md5": "0" * 32}})]},
            "firmware[0].image.hashes.md5",
        ),
        ({"firmware": [entry(image={"urls": [], "hashes": {"sha256": GOOD}})]}, "firmware[0].image.urls"),
        (
            {"firmware": [entry(image={"urls": ["ftp://h/x"], "hashes": {"sha256": GOOD}})]},
            "firmware[0].image.urls",
        ),
        ({"firmware": [entry(version=2)]}, "firmware[0].version"),
        ({"firmware": [entry(version=" ")]}, "firmware[0].version"),
        ({"firmware": [entry(match={"serial": "x"})]}, "firmware[0].match.serial"),
        ({"firmware": [entry()], "settings": {}, "extra": 1}, "extra"),
        ({"firmware": {"component": "bios"}}, "firmware"),
        ({"firmware": ["bios"]}, "firmware[0]"),
        ({"firmware": [entry(), entry(version="2.2.0")]}, "firmware[1]"),
        ({"settings": {"bios": {"X": 1.5}}}, "settings.bios.X"),
        ({"settings": {"bios": ["X"]}}, "settings.bios"),
        ({"secure_boot": "on"}, "secure_boot"),
    ],
)
def test_bad_manifest_names_the_field(params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as err:
        parse_manifest(params)
    assert err.value.field == field
