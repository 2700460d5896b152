"""The simulator's image formats: what a "tenant image" and a "firmware image" look like to the sim.

A real image is a partitioned disk with a filesystem holding /boot/grub/grub.cfg; the sim cannot mount
one, so a simulated image declares itself in its first 4 KiB block (the rest of that block is zero):

    TEETHSIM-IMAGE 1\n
    {"name": ..., "size": <bytes>, "grub_cfg": "<text>", "files": ["/boot/vmlinuz", ...],
     "signatures": ["gpt", "ext4"], "partitions": 1}\n

Body: zeroes, except one 4 KiB stamp block at every MiB boundary (`TEETHSIM-BLOCK <name> <MiB index>`,
then zeroes), so a written image can be checked byte for byte at sampled offsets while a multi-GiB image
costs the sparse disk only a few KiB per GiB and gzip/zstd compress it to almost nothing.

When the first block of a disk parses as such a header, `read_grub_config` returns `grub_cfg`,
`kexec_load` finds kernels and initrds among `files`, and the disk reports `signatures`.

A firmware image is one line: `TEETHSIM-FIRMWARE 1 component=<component> version=<version>\n`, padded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

IMAGE_MAGIC = b"TEETHSIM-IMAGE 1\n"
FIRMWARE_MAGIC = b"TEETHSIM-FIRMWARE 1 "
BLOCK = 4096
MIB = 1 << 20

DEFAULT_GRUB = """set default=0
set timeout=1
menuentry 'Tenant Linux' {
    linux /boot/vmlinuz-6.1.0-tenant root=LABEL=root ro console=ttyS0
    initrd /boot/initrd.img-6.1.0-tenant
}
"""


@dataclass(frozen=True)
class ImageHeader:
    name: str
    size: int
    grub_cfg: str = DEFAULT_GRUB
    files: tuple[str, ...] = ("/boot/vmlinuz-6.1.0-tenant", "/boot/initrd.img-6.1.0-tenant")
    signatures: tuple[str, ...] = ("gpt", "ext4")
    partitions: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        body = json.dumps({"name": self.name, "size": self.size, "grub_cfg": self.grub_cfg,
                           "files": list(self.files), "signatures": list(self.signatures),
                           "partitions": self.partitions, "extra": self.extra}, sort_keys=True)
        raw = IMAGE_MAGIC + body.encode() + b"\n"
        if len(raw) > BLOCK:
            raise ValueError(f"image header is {len(raw)} bytes; at most {BLOCK} fit")
        return raw.ljust(BLOCK, b"\0")


def parse_header(block: bytes) -> ImageHeader | None:
    """The header in a disk's first block, or None (not a sim image, or damaged)."""
    if not block.startswith(IMAGE_MAGIC):
        return None
    line = block[len(IMAGE_MAGIC) :].split(b"\n", 1)[0]
    try:
        d = json.loads(line)
        return ImageHeader(name=str(d["name"]), size=int(d["size"]), grub_cfg=str(d["grub_cfg"]),
                           files=tuple(d["files"]), signatures=tuple(d["signatures"]),
                           partitions=int(d["partitions"]), extra=dict(d.get("extra", {})))
    except (ValueError, KeyError, TypeError):
        return None


def stamp_block(name: str, mib_index: int) -> bytes:
    return f"TEETHSIM-BLOCK {name} {mib_index}\n".encode().ljust(BLOCK, b"\0")


def iter_image(header: ImageHeader, chunk: int = MIB) -> Iterator[bytes]:
    """The image's bytes in pieces of `chunk` (a multiple of 4 KiB), without holding it in memory."""
    if header.size % BLOCK or chunk % BLOCK or header.size < BLOCK:
        raise ValueError("image size and chunk must be positive multiples of 4096")
    for start in range(0, header.size, chunk):
        yield expected_bytes(header, start, min(chunk, header.size - start))


def expected_bytes(header: ImageHeader, offset: int, length: int) -> bytes:
    """What the image holds at [offset, offset+length): for checking a written disk at sampled offsets."""
    out = bytearray(length)
    first_mib, last_mib = offset // MIB, (offset + length - 1) // MIB
    for index in range(first_mib, last_mib + 1):
        block = header.encode() if index == 0 else stamp_block(header.name, index)
        block_start = index * MIB
        lo, hi = max(offset, block_start), min(offset + length, block_start + BLOCK, header.size)
        if lo < hi:
            out[lo - offset : hi - offset] = block[lo - block_start : hi - block_start]
    return bytes(out)


def firmware_image(component: str, version: str) -> bytes:
    return FIRMWARE_MAGIC + f"component={component} version={version}\n".encode().ljust(BLOCK - 20, b"\0")


def parse_firmware_image(data: bytes) -> tuple[str, str] | None:
    """(component, version) from a sim firmware image, or None when it is not one."""
    if not data.startswith(FIRMWARE_MAGIC):
        return None
    fields = dict(
        item.split("=", 1)
        for item in data[len(FIRMWARE_MAGIC) :].split(b"\n", 1)[0].decode(errors="replace").split()
        if "=" in item
    )
    if "component" not in fields or "version" not in fields:
        return None
    return fields["component"], fields["version"]
