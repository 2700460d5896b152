"""standbye.prepare_image on the real Linux backend: a loop device in a private /dev, images served over
HTTP from 127.0.0.1 in every format, checked byte for byte through the loop device's backing file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from standby_images import FORMATS, MIB, encode, payload_disk, static_server, wire_image
from standby_loop_support import NEEDS_ROOT, AttachLoop, in_standby_namespace, ok

pytestmark = NEEDS_ROOT
DISK = 64 * MIB
IMAGE = 24 * MIB


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    www = tmp_path / "www"
    www.mkdir()
    with static_server(www) as base:
        yield www, base


def publish(served: tuple[Path, str], name: str, body: bytes, disk_format: str = "raw") -> dict[str, Any]:
    www, base = served
    (www / name).write_bytes(body)
    return wire_image(name.split(".")[0], f"{base}/{name}", body, disk_format)


def prepare(loop: Any, image: dict[str, Any], state_dir: Path, **extra: Any) -> dict[str, Any]:
    params = {"task_id": "prep", "image": image, "root_device": {"path": loop.dev}}
    return in_standby_namespace("task", loop, method="standbye.prepare_image", params=params,
                                state_dir=str(state_dir), **extra)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_lands_byte_for_byte(attach_loop: AttachLoop, served: tuple[Path, str], tmp_path: Path,
                                          fmt: str) -> None:
    raw = payload_disk(tmp_path / "tenant.raw", IMAGE)
    body = encode(tmp_path / "tenant.raw", fmt, tmp_path)
    image = publish(served, f"tenant.{fmt}", body, "qcow2" if fmt == "qcow2" else "raw")
    loop = attach_loop(DISK, b"\xa5" * 8 * MIB)  # an old bootable-looking head the write must replace

    out = ok(prepare(loop, image, tmp_path / "state"))
    result = out["result"]
    assert (result["disk"], result["size"], result["source"]) == (loop.dev, IMAGE, "download")
    assert result["received"] == len(body) and result["hashes"] == image["hashes"]
    assert out["last_progress"][0] >= 1
    written = loop.backing.read_bytes()
    assert written[:IMAGE] == raw
    assert written[-MIB:] == bytes(MIB)  # whatever the disk held at its end (a backup GPT) is gone


def test_gpt_image_gets_its_backup_header_moved_to_the_disk_end(
    attach_loop: AttachLoop, served: tuple[Path, str], tmp_path: Path
) -> None:
    raw = payload_disk(tmp_path / "gpt.raw", IMAGE, label="gpt")
    image = publish(served, "gpt.raw", raw)
    loop = attach_loop(DISK)
    result = ok(prepare(loop, image, tmp_path / "state"))["result"]
    assert result["backup_gpt_repaired"] is True
    written = loop.backing.read_bytes()
    # Only the protective MBR's size field and the primary header (LBA 1: alternate LBA, last usable LBA,
    # CRC) differ from the image: every partition entry and every data byte is the image's.
    pmbr_size = slice(446 + 12, 446 + 16)
    assert written[:446] == raw[:446] and written[1024:IMAGE] == raw[1024:]
    assert int.from_bytes(written[pmbr_size], "little") == min(DISK // 512 - 1, 0xFFFFFFFF)
    assert written[512:520] == b"EFI PART" and written[DISK - 512:DISK - 504] == b"EFI PART"


def test_wrong_checksum_leaves_the_disk_not_bootable(
    attach_loop: AttachLoop, served: tuple[Path, str], tmp_path: Path
) -> None:
    raw = payload_disk(tmp_path / "tenant.raw", IMAGE)
    image = publish(served, "tenant.raw", raw) | {"hashes": {"sha256": "0" * 64}}
    loop = attach_loop(DISK, b"\xa5" * 2 * MIB)
    out = prepare(loop, image, tmp_path / "state")
    assert out.get("type") == "checksum_mismatch", out
    assert "sha256 mismatch" in out["message"]
    written = loop.backing.read_bytes()
    assert written[:MIB] == bytes(MIB)  # no boot code, no partition table
    assert written[MIB:IMAGE] == raw[MIB:IMAGE]  # the rest was written, but nothing can boot it


def test_image_larger_than_the_disk_is_a_clear_error(
    attach_loop: AttachLoop, served: tuple[Path, str], tmp_path: Path
) -> None:
    raw = payload_disk(tmp_path / "big.raw", DISK + 8 * MIB)
    image = publish(served, "big.raw", encode(tmp_path / "big.raw", "zst", tmp_path))
    loop = attach_loop(DISK, b"\xa5" * 2 * MIB)
    out = prepare(loop, image, tmp_path / "state")
    assert out.get("type") == "image_too_large", out
    assert str(DISK) in out["message"]
    assert loop.backing.read_bytes()[:MIB] == bytes(MIB)
    assert len(raw) > DISK


def test_image_without_a_partition_table_is_written_too(
    attach_loop: AttachLoop, served: tuple[Path, str], tmp_path: Path
) -> None:
    """A whole-disk filesystem image has no table: nothing to repair, and that is not an error."""
    raw = payload_disk(tmp_path / "plain.raw", IMAGE)
    plain = bytes(512) + raw[512:]  # no MBR at all
    image = publish(served, "plain.raw", plain)
    loop = attach_loop(DISK)
    result = ok(prepare(loop, image, tmp_path / "state"))["result"]
    assert result["backup_gpt_repaired"] is False
    assert loop.backing.read_bytes()[:IMAGE] == plain
