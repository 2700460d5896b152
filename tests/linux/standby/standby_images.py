"""Test images for the standby loop tests, and a static HTTP server for them on 127.0.0.1.

Images are real disk images made with the usual tools: an MBR or GPT partition table, pseudo-random
payload (so a byte-for-byte check means something) with zero runs between (so compression has work),
an ext4 holding /boot/grub/grub.cfg, a kernel and an initrd for the grub tests; served raw, gz, xz, zstd
or as qcow2 (qemu-img).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import lzma
import random
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import zstandard

MIB = 1 << 20
BIOS_BOOT_TYPE = "21686148-6449-6E6F-744E-656564454649"  # GPT's "BIOS boot partition" ("Hah!IdontNeedEFI")
FORMATS = ("raw", "gz", "xz", "zst", "qcow2")


def payload_disk(path: Path, size: int, *, label: str = "dos", seed: int = 7) -> bytes:
    """A disk image of `size` bytes: a partition table, then random MiBs and zero MiBs alternating."""
    rng = random.Random(seed)
    with path.open("wb") as f:
        f.truncate(size)
        for mib in range(1, size // MIB):
            if mib % 3 != 2:
                f.seek(mib * MIB)
                f.write(rng.randbytes(MIB))
    table = "label: gpt\n" if label == "gpt" else "label: dos\n"
    script = table + f"start=2048, size={(size // MIB - 2) * 2048}, type=linux\n"
    subprocess.run(["sfdisk", "-q", str(path)], input=script, text=True, check=True)
    return path.read_bytes()


def grub_disk(path: Path, size: int, boot_files: dict[str, bytes], *, label: str = "dos",
              bios_boot: bool = True) -> int:
    """An image with one ext4 partition (1 MiB to the end) holding `boot_files` (relative paths, e.g.
    boot/grub/grub.cfg); returns the partition's byte offset. GPT images get a BIOS boot partition too,
    as grub's i386-pc needs one to embed core.img there."""
    root = path.with_suffix(".root")
    for relative, data in boot_files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    with path.open("wb") as f:
        f.truncate(size)
    if label == "gpt":
        kind = BIOS_BOOT_TYPE if bios_boot else "linux"
        script = f"label: gpt\nstart=2048, size=2048, type={kind}\nstart=4096, type=linux\n"
        offset = 4096 * 512
    else:
        script = "label: dos\nstart=2048, type=linux, bootable\n"
        offset = 2048 * 512
    subprocess.run(["sfdisk", "-q", str(path)], input=script, text=True, check=True)
    blocks = (size - offset - (1 * MIB if label == "gpt" else 0)) // 1024
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "tenant-root", "-d", str(root),
                    "-E", f"offset={offset}", str(path), f"{blocks}k"], check=True, capture_output=True)
    shutil.rmtree(root)
    return offset


def encode(raw: Path, fmt: str, workdir: Path) -> bytes:
    """The bytes a server would send for `raw` in format `fmt`."""
    data = raw.read_bytes()
    if fmt == "raw":
        return data
    if fmt == "gz":
        return gzip.compress(data, compresslevel=1)
    if fmt == "xz":
        return lzma.compress(data, preset=0)
    if fmt == "zst":
        return zstandard.ZstdCompressor(level=3).compress(data)
    if fmt == "qcow2":
        out = workdir / (raw.stem + ".qcow2")
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
        return out.read_bytes()
    raise ValueError(f"unknown format {fmt!r}")


def wire_image(image_id: str, url: str, body: bytes, disk_format: str = "raw") -> dict[str, Any]:
    return {"id": image_id, "urls": [url], "disk_format": disk_format,
            "hashes": {"sha256": hashlib.sha256(body).hexdigest()}}


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus two faulty views of each: /truncated/NAME always stops halfway through the body
    and drops the connection; /flaky/NAME does that once, then honours Range like a good server."""

    seen: set[str]  # paths already served once (per server: set on the subclass static_server makes)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        kind, _, name = self.path.lstrip("/").partition("/")
        if kind not in ("truncated", "flaky"):
            super().do_GET()
            return
        body = (Path(self.directory) / name).read_bytes()
        start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0] or 0)
        if kind == "flaky" and self.path in self.seen:
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            self.wfile.write(body[start:])
            return
        self.seen.add(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True


@contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    handler = type("Handler", (_Handler,), {"seen": set()})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **kw: handler(*a, directory=str(directory), **kw)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
