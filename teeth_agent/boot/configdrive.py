"""The config drive's files from run_image params (pure).

`configdrive: {"meta_data": {...}, "user_data": "..." | null, "network_data": {...}}` becomes the
OpenStack layout under `openstack/latest/`. The backend turns the files into a `config-2` partition
(ISO9660, or vfat on 4K-sector disks). Malformed params or a drive over 64 MiB are InvalidParams, raised
before the task starts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from teeth_agent.errors import InvalidParams

MAX_BYTES = 64 << 20
PREFIX = "openstack/latest/"


def build_files(value: Any, field: str = "configdrive") -> dict[str, bytes]:
    if not isinstance(value, Mapping):
        raise InvalidParams(field, f"expected an object, got {type(value).__name__}")
    unknown = sorted(set(value) - {"meta_data", "user_data", "network_data"})
    if unknown:
        raise InvalidParams(f"{field}.{unknown[0]}", "unknown key; use meta_data, user_data, network_data")
    meta = value.get("meta_data")
    if not isinstance(meta, Mapping):
        raise InvalidParams(f"{field}.meta_data", "is required and must be an object")
    files = {PREFIX + "meta_data.json": _json(meta)}
    user = value.get("user_data")
    if user is not None:
        if not isinstance(user, str):
            raise InvalidParams(f"{field}.user_data", f"expected a string, got {type(user).__name__}")
        files[PREFIX + "user_data"] = user.encode()
    network = value.get("network_data")
    if network is not None:
        if not isinstance(network, Mapping):
            raise InvalidParams(f"{field}.network_data", f"expected an object, got {type(network).__name__}")
        files[PREFIX + "network_data.json"] = _json(network)
    total = sum(len(data) for data in files.values())
    if total > MAX_BYTES:
        raise InvalidParams(field, f"config drive content is {total} bytes; the limit is 64 MiB")
    return files


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
