"""Download faults on the real Linux backend (loop device, private /dev): a dropped connection is resumed
and the image still lands byte for byte; a download that never completes, a 404 and a qcow2 with a
backing file are each a clear error that leaves the disk not bootable."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standby_images import MIB, encode, payload_disk, static_server, wire_image
from standby_loop_support import NEEDS_ROOT, AttachLoop, in_standby_namespace, ok

pytestmark = NEEDS_ROOT
DISK = 64 * MIB
IMAGE = 24 * MIB


@pytest.fixture
def www(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    with static_server(root) as base:
        yield root, base


def prepare(loop: Any, image: dict[str, Any], tmp_path: Path, **extra: Any) -> dict[str, Any]:
    params = {"task_id": "prep", "image": image, "root_device": {"path": loop.dev}}
    return in_standby_namespace("task", loop, method="standbye.prepare_image", params=params,
                                state_dir=str(tmp_path / "state"), **extra)


def test_dropped_connection_is_resumed_and_the_image_lands_whole(
    attach_loop: AttachLoop, www: tuple[Path, str], tmp_path: Path
) -> None:
    raw = payload_disk(tmp_path / "t.raw", IMAGE)
    body = encode(tmp_path / "t.raw", "xz", tmp_path)
    (www[0] / "t.xz").write_bytes(body)
    loop = attach_loop(DISK)
    result = ok(prepare(loop, wire_image("t", f"{www[1]}/flaky/t.xz", body), tmp_path))["result"]
    assert result["received"] == len(body)
    assert loop.backing.read_bytes()[:IMAGE] == raw


def test_download_that_never_completes_leaves_the_disk_unbootable(
    attach_loop: AttachLoop, www: tuple[Path, str], tmp_path: Path
) -> None:
    raw = payload_disk(tmp_path / "t.raw", IMAGE)
    (www[0] / "t.raw").write_bytes(raw)
    loop = attach_loop(DISK, b"\xa5" * 2 * MIB)
    out = prepare(loop, wire_image("t", f"{www[1]}/truncated/t.raw", raw), tmp_path)
    assert out.get("type") == "download_failed", out
    assert "/truncated/t.raw" in out["message"]
    assert loop.backing.read_bytes()[:MIB] == bytes(MIB)


def test_404_is_a_clear_error_and_the_disk_unbootable(
    attach_loop: AttachLoop, www: tuple[Path, str], tmp_path: Path
) -> None:
    loop = attach_loop(DISK, b"\xa5" * 2 * MIB)
    out = prepare(loop, wire_image("t", f"{www[1]}/missing.raw", b""), tmp_path)
    assert out.get("type") == "http_status" and "404" in out["message"], out
    assert loop.backing.read_bytes()[:MIB] == bytes(MIB)  # nothing bootable is left behind


def test_qcow2_with_a_backing_file_is_refused(
    attach_loop: AttachLoop, www: tuple[Path, str], tmp_path: Path
) -> None:
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base), str(overlay)],
                   check=True)
    body = overlay.read_bytes()
    (www[0] / "overlay.qcow2").write_bytes(body)
    loop = attach_loop(DISK, b"\xa5" * 2 * MIB)
    image = wire_image("o", f"{www[1]}/overlay.qcow2", body, "qcow2")
    out = prepare(loop, image, tmp_path)
    assert out.get("type") == "image_format" and "backing file" in out["message"], out
    assert loop.backing.read_bytes()[:MIB] == bytes(MIB)
