"""Params of decom.firmware_secure: the firmware manifest, parsed and checked before anything starts.

    firmware: [{"component": "bios"|"bmc"|"nic"|"disk"|...,
                "match": {"vendor"?: str, "model"?: str},
                "version": str,
                "image": {"urls": [http(s) URL, ...], "hashes": {"sha256": 64 hex digits}}}]
    settings: {"<component>": {"<name>": str | int | bool}}
    secure_boot: true | false | null (leave as is)

Matching of vendor/model is case-insensitive with whitespace collapsed. Two entries for the same component
and match contradict each other and are rejected.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from teeth_agent.backend.api import SettingValue
from teeth_agent.errors import InvalidParams
from teeth_agent.params import get_bool, get_object, get_str, get_str_list

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class FirmwareImage:
    urls: tuple[str, ...]
    sha256: str  # lowercase hex


@dataclass(frozen=True)
class FirmwareEntry:
    component: str
    version: str
    image: FirmwareImage
    vendor: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class Manifest:
    firmware: tuple[FirmwareEntry, ...] = ()
    settings: Mapping[str, Mapping[str, SettingValue]] = field(default_factory=dict)
    secure_boot: bool | None = None


def norm(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _keys(obj: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise InvalidParams(prefix + unknown[0], "unknown key")


def _urls(image: Mapping[str, Any], prefix: str) -> tuple[str, ...]:
    urls: tuple[str, ...] = get_str_list(image, "urls", prefix=prefix)
    if not urls:
        raise InvalidParams(prefix + "urls", "needs at least one URL")
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParams(prefix + "urls", f"not an http(s) URL: {url!r}")
    return urls


def _image(entry: Mapping[str, Any], prefix: str) -> FirmwareImage:
    image = get_object(entry, "image", prefix=prefix)
    prefix += "image."
    _keys(image, {"urls", "hashes"}, prefix)
    hashes = get_object(image, "hashes", prefix=prefix)
    _keys(hashes, {"sha256"}, prefix + "hashes.")
    digest = get_str(hashes, "sha256", prefix=prefix + "hashes.")
    if not _SHA256.fullmatch(digest):
        raise InvalidParams(prefix + "hashes.sha256", "expected 64 hexadecimal digits")
    return FirmwareImage(_urls(image, prefix), digest.lower())


def _entry(item: Any, i: int) -> FirmwareEntry:
    prefix = f"firmware[{i}]."
    if not isinstance(item, dict):
        raise InvalidParams(prefix[:-1], f"expected an object, got {type(item).__name__}")
    _keys(item, {"component", "match", "version", "image"}, prefix)
    match = get_object(item, "match", {}, prefix=prefix)
    _keys(match, {"vendor", "model"}, prefix + "match.")
    component = get_str(item, "component", prefix=prefix)
    version = get_str(item, "version", prefix=prefix)
    for key, value in (("component", component), ("version", version)):
        if not value.strip():
            raise InvalidParams(prefix + key, "must not be empty")
    return FirmwareEntry(
        component=component,
        version=version,
        image=_image(item, prefix),
        vendor=get_str(match, "vendor", None, prefix=prefix + "match."),
        model=get_str(match, "model", None, prefix=prefix + "match."),
    )


def _entries(params: Mapping[str, Any]) -> tuple[FirmwareEntry, ...]:
    items = params.get("firmware", [])
    if not isinstance(items, list):
        raise InvalidParams("firmware", f"expected a list, got {type(items).__name__}")
    entries = tuple(_entry(item, i) for i, item in enumerate(items))
    seen: dict[tuple[str, str, str], int] = {}
    for i, e in enumerate(entries):
        key = (norm(e.component), norm(e.vendor), norm(e.model))
        if key in seen:
            raise InvalidParams(f"firmware[{i}]", f"same component and match as firmware[{seen[key]}]")
        seen[key] = i
    return entries


def _settings(params: Mapping[str, Any]) -> dict[str, dict[str, SettingValue]]:
    settings = get_object(params, "settings", {})
    out: dict[str, dict[str, SettingValue]] = {}
    for component, values in settings.items():
        if not isinstance(values, dict):
            raise InvalidParams(f"settings.{component}", f"expected an object, got {type(values).__name__}")
        for name, value in values.items():
            if not isinstance(value, str | int | bool) or isinstance(value, float):
                raise InvalidParams(f"settings.{component}.{name}", "expected a string, integer or boolean")
        out[component] = dict(values)
    return out


def parse_manifest(params: Mapping[str, Any]) -> Manifest:
    _keys(params, {"task_id", "firmware", "settings", "secure_boot"}, "")
    return Manifest(
        firmware=_entries(params),
        settings=_settings(params),
        secure_boot=get_bool(params, "secure_boot", None),
    )
