"""Validators for the standby family's params: parsed before any work starts, naming the bad field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teeth_agent.errors import InvalidParams
from teeth_agent.images.disks import RootHints, parse_hints
from teeth_agent.images.spec import ImageSpec, parse_image
from teeth_agent.params import get_bool

MAX_IMAGES = 64


@dataclass(frozen=True)
class CacheParams:
    images: tuple[ImageSpec, ...]
    hints: RootHints


@dataclass(frozen=True)
class PrepareParams:
    image: ImageSpec
    hints: RootHints


def validate_cache(params: Mapping[str, Any]) -> CacheParams:
    allow_md5 = get_bool(params, "allow_md5", False)
    raw = params.get("images")
    if not isinstance(raw, list) or not raw:
        raise InvalidParams("images", "expected a non-empty list of images (priority order)")
    if len(raw) > MAX_IMAGES:
        raise InvalidParams("images", f"at most {MAX_IMAGES} images")
    images = tuple(parse_image(item, field=f"images[{i}]", allow_md5=allow_md5) for i, item in enumerate(raw))
    ids = [image.id for image in images]
    duplicate = next((i for i in ids if ids.count(i) > 1), None)
    if duplicate is not None:
        raise InvalidParams("images", f"image id {duplicate!r} appears twice")
    return CacheParams(images, parse_hints(params.get("root_device")))


def validate_prepare(params: Mapping[str, Any]) -> PrepareParams:
    allow_md5 = get_bool(params, "allow_md5", False)
    image = parse_image(params.get("image"), field="image", allow_md5=allow_md5)
    return PrepareParams(image, parse_hints(params.get("root_device")))
