"""qcow2 safety check (pure) and the container-format sniff for declared-raw images.

qemu-img is a big parser; the agent only hands it a qcow2 it has read itself first. A backing file or an
external data file would make qemu-img read *other* files of the ramdisk (or the network) into the
tenant's disk; encryption cannot be booted; unknown incompatible features mean we cannot judge it.
Layout per qemu's docs/interop/qcow2.txt (all big-endian).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from teeth_agent.images.errors import ImageFormatError

QCOW2_MAGIC = b"QFI\xfb"
_V2_HEADER = struct.Struct(">4sIQIIQIIQQIIQ")  # 72 bytes
_V3_EXTRA = struct.Struct(">QQQII")  # 32 bytes: features, refcount_order, header_length
_EXT = struct.Struct(">II")
_EXT_END = 0
_EXT_BACKING_FORMAT = 0xE2792ACA
_EXT_ENCRYPTION = 0x0537BE77
_EXT_DATA_FILE = 0x44415441
_INCOMPAT_CORRUPT = 1 << 1
_INCOMPAT_DATA_FILE = 1 << 2
_INCOMPAT_KNOWN = (1 << 5) - 1  # dirty, corrupt, external data, compression type, extended L2

# Container formats that are not raw, recognised from their first bytes (offset, magic).
_CONTAINERS = (
    (0, QCOW2_MAGIC, "qcow2"),
    (0, b"QED\x00", "qed"),
    (0, b"KDMV", "vmdk"),
    (0, b"# Disk DescriptorFile", "vmdk"),
    (0, b"vhdxfile", "vhdx"),
    (0, b"conectix", "vpc"),
    (0x40, b"\x7f\x10\xda\xbe", "vdi"),
)


@dataclass(frozen=True)
class Qcow2Info:
    version: int
    virtual_size: int
    cluster_size: int


def sniff_container(head: bytes) -> str | None:
    """The non-raw container format `head` starts with, or None for raw content."""
    for offset, magic, name in _CONTAINERS:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def check_declared_format(head: bytes, declared: str) -> None:
    found = sniff_container(head)
    if declared == "raw" and found is not None:
        raise ImageFormatError(f"image declared raw but its content is {found}")
    if declared == "qcow2" and found != "qcow2":
        raise ImageFormatError(f"image declared qcow2 but its content is {found or 'raw'}")


def check_qcow2_header(head: bytes) -> Qcow2Info:
    """Validate the header and its extensions (they sit right after it, in the first cluster)."""
    if len(head) < _V2_HEADER.size:
        raise ImageFormatError("qcow2 header is truncated")
    (magic, version, backing_offset, _backing_size, cluster_bits, size, crypt,
     *_rest) = _V2_HEADER.unpack_from(head)
    if magic != QCOW2_MAGIC:
        raise ImageFormatError("not a qcow2 image (bad magic)")
    if version not in (2, 3):
        raise ImageFormatError(f"qcow2 version {version} is not supported")
    if backing_offset:
        raise ImageFormatError("qcow2 image has a backing file; only self-contained images are accepted")
    if crypt:
        raise ImageFormatError("qcow2 image is encrypted")
    if not 9 <= cluster_bits <= 21:
        raise ImageFormatError(f"qcow2 cluster_bits {cluster_bits} out of range")
    if size <= 0:
        raise ImageFormatError("qcow2 virtual size is zero")
    ext_start = _V2_HEADER.size
    if version == 3:
        ext_start = _check_v3_features(head)
    _check_extensions(head, ext_start, 1 << cluster_bits)
    return Qcow2Info(version, size, 1 << cluster_bits)


def _check_v3_features(head: bytes) -> int:
    if len(head) < _V2_HEADER.size + _V3_EXTRA.size:
        raise ImageFormatError("qcow2 v3 header is truncated")
    incompat, _compat, _autoclear, _refcount_order, header_length = _V3_EXTRA.unpack_from(
        head, _V2_HEADER.size
    )
    if incompat & _INCOMPAT_DATA_FILE:
        raise ImageFormatError("qcow2 image uses an external data file")
    if incompat & _INCOMPAT_CORRUPT:
        raise ImageFormatError("qcow2 image is marked corrupt")
    if incompat & ~_INCOMPAT_KNOWN:
        raise ImageFormatError(f"qcow2 image has unknown incompatible features {incompat:#x}")
    if header_length < _V2_HEADER.size + _V3_EXTRA.size:
        raise ImageFormatError(f"qcow2 header_length {header_length} is too small")
    return int(header_length)


def _check_extensions(head: bytes, offset: int, cluster_size: int) -> None:
    end = min(len(head), cluster_size)
    while True:
        if offset + _EXT.size > end:
            raise ImageFormatError("qcow2 header extensions run past the first cluster")
        kind, length = _EXT.unpack_from(head, offset)
        if kind == _EXT_END:
            return
        if kind == _EXT_DATA_FILE:
            raise ImageFormatError("qcow2 image names an external data file")
        if kind == _EXT_ENCRYPTION:
            raise ImageFormatError("qcow2 image carries an encryption header")
        if kind == _EXT_BACKING_FORMAT:
            raise ImageFormatError("qcow2 image names a backing file format")
        offset += _EXT.size + (length + 7) // 8 * 8
