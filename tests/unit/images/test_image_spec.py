from __future__ import annotations

from typing import Any

import pytest

from teeth_agent.errors import InvalidParams
from teeth_agent.images.spec import parse_image

GOOD: dict[str, Any] = {
    "id": "7b1c",
    "urls": ["http://127.0.0.1/a.img", "https://mirror.example/a.img"],
    "hashes": {"sha256": "AB" * 32},
    "disk_format": "raw",
}


def test_good_image_parses_and_normalises_digests() -> None:
    spec = parse_image(GOOD | {"size": 1024})
    assert spec.urls == tuple(GOOD["urls"])
    assert spec.hash_map == {"sha256": "ab" * 32}
    assert spec.size == 1024
    assert parse_image(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": ""}, "image.id"),
        ({"id": 3}, "image.id"),
        ({"urls": []}, "image.urls"),
        ({"urls": "http://x"}, "image.urls"),
        ({"urls": ["file:///etc/passwd"]}, "image.urls[0]"),
        ({"urls": ["http://ok/x", 5]}, "image.urls[1]"),
        ({"hashes": {}}, "image.hashes"),
        ({"hashes": {"sha1": "a" * 40}}, "image.hashes.sha1"),
        ({"hashes": {"sha256": "a" * 63}}, "image.hashes.sha256"),
        ({"hashes": {"sha256": "z" * 64}}, "image.hashes.sha256"),
        ({"hashes": {"md5": "a" * 32}}, "image.hashes.md5"),
        ({"disk_format": "vmdk"}, "image.disk_format"),
        ({"size": 0}, "image.size"),
        ({"size": "big"}, "image.size"),
    ],
)
def test_malformed_image_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        parse_image(GOOD | change)
    assert caught.value.field == field


def test_missing_fields_are_named() -> None:
    for key in ("id", "urls", "hashes", "disk_format"):
        with pytest.raises(InvalidParams) as caught:
            parse_image({k: v for k, v in GOOD.items() if k != key})
        assert caught.value.field == f"image.{key}"


def test_md5_only_when_allowed() -> None:
    spec = parse_image(GOOD | {"hashes": {"md5": "a" * 32}}, allow_md5=True)
    assert spec.hash_map == {"md5": "a" * 32}


def test_not_an_object() -> None:
    with pytest.raises(InvalidParams, match="expected an object"):
        parse_image(["x"], field="images[2]")
