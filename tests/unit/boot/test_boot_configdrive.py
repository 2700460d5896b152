from __future__ import annotations

import json
from typing import Any

import pytest

from teeth_agent.boot.configdrive import build_files
from teeth_agent.errors import InvalidParams


def test_files_in_the_openstack_layout() -> None:
    files = build_files({"meta_data": {"uuid": "u-1", "hostname": "h"}, "user_data": "#!/bin/sh\necho hi\n",
                         "network_data": {"links": []}})
    assert sorted(files) == ["openstack/latest/meta_data.json", "openstack/latest/network_data.json",
                             "openstack/latest/user_data"]
    assert json.loads(files["openstack/latest/meta_data.json"]) == {"uuid": "u-1", "hostname": "h"}
    assert files["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"


def test_optional_parts_may_be_absent() -> None:
    assert sorted(build_files({"meta_data": {}})) == ["openstack/latest/meta_data.json"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("text", "configdrive"),
        ({}, "configdrive.meta_data"),
        ({"meta_data": []}, "configdrive.meta_data"),
        ({"meta_data": {}, "user_data": 5}, "configdrive.user_data"),
        ({"meta_data": {}, "network_data": "x"}, "configdrive.network_data"),
        ({"meta_data": {}, "vendor_data": {}}, "configdrive.vendor_data"),
    ],
)
def test_malformed_config_drive_names_the_field(value: Any, field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        build_files(value)
    assert caught.value.field == field


def test_over_64_mib_is_refused() -> None:
    with pytest.raises(InvalidParams, match="limit is 64 MiB"):
        build_files({"meta_data": {}, "user_data": "x" * (64 << 20)})
