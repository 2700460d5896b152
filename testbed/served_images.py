"""The tenant image as the standby flows fetch it: compressed raw and qcow2 files in a directory the
image server serves, each described the way the wire wants it (hashes of the bytes served)."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed import tools
from testbed.harness import GUEST_IMAGE_SERVER

CHUNK = 4 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def wire_image(name: str, served: Path, disk_format: str, image_id: str | None = None) -> dict[str, Any]:
    """The wire description of a served file, with the URL the guest uses (through guestfwd)."""
    host, port = GUEST_IMAGE_SERVER
    return {"id": image_id or str(uuid.uuid4()), "urls": [f"http://{host}:{port}/{name}"],
            "hashes": {"sha256": sha256_file(served)}, "disk_format": disk_format}


@dataclass(frozen=True)
class ServedImages:
    raw: Path  # what a disk must hold after prepare_image, whichever file it came from
    gz_path: Path
    gz: dict[str, Any]
    qcow2: dict[str, Any]


def make(raw: Path, directory: Path) -> ServedImages:
    """Write tenant.raw.gz and tenant.qcow2 from the raw disk image into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    gz = directory / "tenant.raw.gz"
    with raw.open("rb") as src, gzip.open(gz, "wb", compresslevel=6) as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
    qcow2 = directory / "tenant.qcow2"
    tools.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)])
    return ServedImages(raw, gz, wire_image(gz.name, gz, "raw"), wire_image(qcow2.name, qcow2, "qcow2"))
