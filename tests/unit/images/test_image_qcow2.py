from __future__ import annotations

import struct

import pytest
from test_image_pipeline import qcow2_header

from teeth_agent.images.errors import ImageFormatError
from teeth_agent.images.qcow2 import check_declared_format, check_qcow2_header, sniff_container

MiB = 1 << 20


def with_extension(kind: int, payload: bytes = b"x" * 8) -> bytes:
    head = bytearray(qcow2_header())
    ext = struct.pack(">II", kind, len(payload)) + payload.ljust(-(-len(payload) // 8) * 8, b"\0")
    head[104 : 104 + len(ext) + 8] = ext + bytes(8)
    return bytes(head)


def set_field(head: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(head)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def test_plain_v3_and_v2_headers_pass() -> None:
    info = check_qcow2_header(qcow2_header())
    assert (info.version, info.virtual_size, info.cluster_size) == (3, 64 * MiB, 65536)
    assert check_qcow2_header(qcow2_header(version=2)).version == 2


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (qcow2_header(backing=True), "backing file"),
        (set_field(qcow2_header(), 32, ">I", 1), "encrypted"),
        (set_field(qcow2_header(), 72, ">Q", 1 << 2), "external data file"),
        (set_field(qcow2_header(), 72, ">Q", 1 << 1), "marked corrupt"),
        (set_field(qcow2_header(), 72, ">Q", 1 << 9), "unknown incompatible"),
        (set_field(qcow2_header(), 4, ">I", 4), "version 4"),
        (set_field(qcow2_header(), 20, ">I", 30), "cluster_bits"),
        (with_extension(0x44415441, b"/etc/shadow"), "external data file"),
        (with_extension(0xE2792ACA, b"raw"), "backing file format"),
        (with_extension(0x0537BE77), "encryption header"),
        (qcow2_header()[:50], "truncated"),
        (b"\0" * 512, "bad magic"),
    ],
)
def test_unsafe_or_broken_headers_are_rejected(head: bytes, message: str) -> None:
    with pytest.raises(ImageFormatError, match=message):
        check_qcow2_header(head)


def test_harmless_extension_is_skipped() -> None:
    assert check_qcow2_header(with_extension(0x6803F857, b"feature table")).version == 3


def test_declared_format_must_match_content() -> None:
    check_declared_format(b"\xeb\x63\x90" + bytes(600), "raw")
    check_declared_format(qcow2_header(), "qcow2")
    with pytest.raises(ImageFormatError, match="declared qcow2 but its content is raw"):
        check_declared_format(bytes(600), "qcow2")
    with pytest.raises(ImageFormatError, match="content is vmdk"):
        check_declared_format(b"KDMV" + bytes(600), "raw")
    assert sniff_container(bytes(0x40) + b"\x7f\x10\xda\xbe") == "vdi"
