"""What the fleet's endpoint sends each machine: the image, firmware manifest, QC spec, config drive.

Built from the machine's own profile, so a healthy machine passes QC and a pinned firmware version
really is an update. Blobs (the compressed tenant image, firmware images) go on the shared image server
once; each machine gets URLs under its own client prefix so download faults can target it alone.
"""

from __future__ import annotations

import gzip
import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from simulator.fleet.image_server import ImageServer
from simulator.machine.image_format import ImageHeader, firmware_image, iter_image
from simulator.machine.profile import MachineProfile

IMAGE_NAME = "tenant-demo"
# The demo pins what operators usually pin; disk and NIC firmware stay as they are.
PINNED = ("bios", "bmc")


@dataclass(frozen=True)
class ImageBlob:
    name: str
    id: str
    sha256: str
    header: ImageHeader


def publish_image(server: ImageServer, size: int, compression: str) -> ImageBlob:
    header = ImageHeader(IMAGE_NAME, size)
    raw = b"".join(iter_image(header))
    data = gzip.compress(raw, compresslevel=6, mtime=0) if compression == "gzip" else raw
    suffix = ".raw.gz" if compression == "gzip" else ".raw"
    sha = server.add_blob(IMAGE_NAME + suffix, data)
    image_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{IMAGE_NAME}/{sha}"))
    return ImageBlob(IMAGE_NAME + suffix, image_id, sha, header)


def image_param(server: ImageServer, client: str, blob: ImageBlob) -> dict[str, Any]:
    return {"id": blob.id, "urls": [server.url(client, blob.name)], "hashes": {"sha256": blob.sha256},
            "disk_format": "raw"}


def bumped(version: str) -> str:
    """The pinned version: one more than what the machine runs ("1.8.2" -> "1.8.3", "SN02" -> "SN02.1")."""
    head, _, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}.{int(last) + 1}" if head else str(int(last) + 1)
    return version + ".1"


def firmware_param(server: ImageServer, client: str, profile: MachineProfile) -> dict[str, Any]:
    entries = []
    seen: set[tuple[str, str | None]] = set()
    for fw in profile.firmware:
        if fw.component not in PINNED or fw.update == "unsupported" or (fw.component, fw.model) in seen:
            continue
        seen.add((fw.component, fw.model))
        version = bumped(fw.version)
        name = f"fw-{fw.component}-{hashlib.sha256((fw.model or '').encode()).hexdigest()[:8]}-{version}.bin"
        sha = server.add_blob(name, firmware_image(fw.component, version))
        match = {k: v for k, v in (("vendor", fw.vendor), ("model", fw.model)) if v}
        entries.append({"component": fw.component, "match": match, "version": version,
                        "image": {"urls": [server.url(client, name)], "hashes": {"sha256": sha}}})
    return {"firmware": entries}


def _disk_type(transport: str, rotational: bool) -> str:
    if transport in ("nvme", "virtio"):
        return transport
    return "hdd" if rotational else "ssd"


def qc_spec(profile: MachineProfile) -> dict[str, Any]:
    groups = Counter((_disk_type(d.transport, d.rotational), d.size) for d in profile.disks)
    cpu = profile.cpu
    spec: dict[str, Any] = {
        "system": {"manufacturer": profile.dmi["manufacturer"], "product": profile.dmi["product"]},
        "cpu": {"model": cpu["model"], "count": cpu["sockets"], "cores": cpu["cores"],
                "threads": cpu["threads"]},
        "memory_mib": {"min": profile.memory_mib, "max": profile.memory_mib},
        "disks": [{"type": t, "size_bytes": s, "count": n} for (t, s), n in sorted(groups.items())],
        "nics": {"count": len(profile.nics)},
        "boot_mode": profile.boot_mode,
    }
    return spec


def configdrive(index: int, serial: str) -> dict[str, Any]:
    instance = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{serial}.tenant.example"))
    return {
        "meta_data": {"uuid": instance, "hostname": f"tenant-{index:05d}", "name": f"tenant-{index:05d}"},
        "user_data": "#cloud-config\nruncmd:\n  - echo hello from the simulated tenant\n",
        "network_data": {"links": [], "networks": [], "services": []},
    }


def fill_placeholders(value: Any, values: dict[str, Any]) -> Any:
    """Replace "@name" strings (anywhere in params) by values[name]."""
    if isinstance(value, str) and value in values:
        return values[value]
    if isinstance(value, dict):
        return {k: fill_placeholders(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, values) for v in value]
    return value
