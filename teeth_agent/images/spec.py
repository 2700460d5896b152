"""The wire image: `{"id", "urls", "hashes", "disk_format", "size"?}` parsed into an ImageSpec.

Pure: no I/O. Every malformed field is an InvalidParams naming it (e.g. `image.hashes.sha256`).
The hashes are of the bytes the server sends (before decompression), as with Glance's os_hash_value:
that is the only digest that still means something after a qcow2 is converted.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from teeth_agent.errors import InvalidParams
from teeth_agent.params import get_choice, get_int, get_str

DiskFormat = Literal["raw", "qcow2"]

# Hex digest lengths; md5 is accepted only when the caller allows it (it is not collision resistant).
_DIGEST_HEX = {"sha256": 64, "sha512": 128, "md5": 32}
_STRONG = ("sha256", "sha512")
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class ImageSpec:
    id: str
    urls: tuple[str, ...]
    # (algorithm, lowercase hex) pairs, sorted: hashable, and comparable between cache index and request.
    hashes: tuple[tuple[str, str], ...]
    disk_format: DiskFormat
    size: int | None = None

    @property
    def hash_map(self) -> dict[str, str]:
        return dict(self.hashes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "urls": list(self.urls),
            "hashes": self.hash_map,
            "disk_format": self.disk_format,
        }
        if self.size is not None:
            out["size"] = self.size
        return out


def parse_image(value: Any, *, field: str = "image", allow_md5: bool = False) -> ImageSpec:
    if not isinstance(value, dict):
        raise InvalidParams(field, f"expected an object, got {type(value).__name__}")
    prefix = field + "."
    image_id = get_str(value, "id", prefix=prefix)
    if not image_id.strip():
        raise InvalidParams(prefix + "id", "must not be empty")
    urls = _parse_urls(value.get("urls"), prefix + "urls")
    hashes = _parse_hashes(value.get("hashes"), prefix + "hashes", allow_md5)
    disk_format = get_choice(value, "disk_format", ("raw", "qcow2"), prefix=prefix)
    size = get_int(value, "size", None, minimum=1, prefix=prefix)
    return ImageSpec(image_id, urls, hashes, disk_format, size)


def _parse_urls(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        raise InvalidParams(field, "is required")
    if not isinstance(value, list) or not value:
        raise InvalidParams(field, "expected a non-empty list of URLs")
    for i, url in enumerate(value):
        if not isinstance(url, str):
            raise InvalidParams(f"{field}[{i}]", f"expected a string, got {type(url).__name__}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParams(f"{field}[{i}]", f"expected an http:// or https:// URL, got {url!r}")
    return tuple(value)


def _parse_hashes(value: Any, field: str, allow_md5: bool) -> tuple[tuple[str, str], ...]:
    if value is None:
        raise InvalidParams(field, "is required")
    if not isinstance(value, Mapping) or not value:
        raise InvalidParams(field, "expected a non-empty object of algorithm -> hex digest")
    out: list[tuple[str, str]] = []
    for algorithm, digest in value.items():
        name = f"{field}.{algorithm}"
        if algorithm not in _DIGEST_HEX:
            raise InvalidParams(name, f"unsupported algorithm; use one of {', '.join(_STRONG)}")
        if algorithm == "md5" and not allow_md5:
            raise InvalidParams(name, "md5 is not allowed (set allow_md5 to accept it)")
        if not isinstance(digest, str):
            raise InvalidParams(name, f"expected a hex string, got {type(digest).__name__}")
        digest = digest.lower()
        if len(digest) != _DIGEST_HEX[algorithm] or not _HEX.match(digest):
            raise InvalidParams(name, f"expected {_DIGEST_HEX[algorithm]} hex digits")
        out.append((algorithm, digest))
    return tuple(sorted(out))
