"""Image write: our pipeline vs `curl URL | zstd -d | dd of=TARGET oflag=direct bs=4M`, same run.

Both read the same zstd image from one local HTTP server (127.0.0.1, sendfile) and write the same
preallocated target file with O_DIRECT. Ours also computes sha256 over every received byte and checks it;
the baseline hashes nothing. Ours runs in a child process so its peak RSS (VmHWM) is its own; both
timings are wall clock from this process, interpreter start-up included for ours (conservative).

`run(quick)` returns the figures for `python -m benchmarks`; `python -m benchmarks.bench_image [--quick]`
prints them. Needs curl and zstd (deps/apt-images.txt); writes ~2.5x the image size under /var/tmp.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figure import Figure, format_table

MiB = 1 << 20
ROOT = Path(__file__).resolve().parents[1]
BASELINE = "curl | zstd -d | dd oflag=direct bs=4M"
_SERVER = r"""
import http.server, os, sys
class H(http.server.SimpleHTTPRequestHandler):
    def copyfile(self, source, outputfile):
        outputfile.flush()
        self.connection.sendfile(source)
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: H(*a, directory=sys.argv[1]))
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def make_image(path: Path, size: int) -> None:
    """Disk-image-like content: incompressible blocks, low-entropy blocks and zero runs (~2.5:1 in zstd)."""
    rng = random.Random(7)
    pool = [rng.randbytes(MiB) for _ in range(16)]
    low = bytes(rng.choice(b"\x00\x01\x02\x03abcdefgh") for _ in range(MiB))
    with open(path, "wb") as f:
        for i in range(size // MiB):
            kind = i % 5
            if kind in (0, 1):
                f.write(pool[rng.randrange(16)])
            elif kind in (2, 3):
                f.write(low[i % 7 :] + low[: i % 7])
            else:
                f.write(bytes(MiB))


def _time(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return time.perf_counter() - start, out


def run_baseline(url: str, target: Path) -> float:
    pipeline = (f"set -o pipefail; curl -sf {url} | zstd -dc | "
                f"dd of={target} oflag=direct bs=4M iflag=fullblock conv=notrunc status=none")
    return _time(["bash", "-c", pipeline])[0]


def run_ours(url: str, target: Path, sha256: str) -> tuple[float, dict[str, Any]]:
    argv = [sys.executable, "-m", "benchmarks.bench_image", "--child", url, str(target), sha256]
    seconds, out = _time(argv)
    return seconds, json.loads(out)


def child(url: str, target: str, sha256: str) -> None:
    import asyncio

    from teeth_agent.backend.linux.direct_handle import DirectHandle
    from teeth_agent.http.client import HttpDownload
    from teeth_agent.images.pipeline import Target, stream_image
    from teeth_agent.images.worker import DecodeJob

    async def go() -> dict[str, Any]:
        handle = await DirectHandle.open(target, writable=True)
        try:
            result = await stream_image(HttpDownload((url,)), Target(handle), {"sha256": sha256},
                                        DecodeJob(True, "raw"))
        finally:
            await handle.close()
        return {"size": result.size, "compression": result.compression}

    out = asyncio.run(go())
    status = Path("/proc/self/status").read_text()
    hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    print(json.dumps(out | {"vmhwm_kib": int(hwm)}))


def _digest(path: Path, length: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while length > 0 and (data := f.read(min(8 * MiB, length))):
            h.update(data)
            length -= len(data)
    return h.hexdigest()


def run(quick: bool) -> list[Figure]:
    size = (256 if quick else 3072) * MiB
    rounds = 2 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="bench-image-", dir="/var/tmp"))
    server = None
    try:
        raw, packed, target = work / "image.raw", work / "image.raw.zst", work / "target.img"
        make_image(raw, size)
        subprocess.run(["zstd", "-q", "-T0", "-3", str(raw), "-o", str(packed)], check=True)
        raw_digest, packed_digest = _digest(raw, size), _digest(packed, packed.stat().st_size)
        raw.unlink()
        with open(target, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, size + 8 * MiB)
        server = subprocess.Popen([sys.executable, "-c", _SERVER, str(work)], stdout=subprocess.PIPE,
                                  text=True)
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/{packed.name}"
        times: dict[str, list[float]] = {"baseline": [], "ours": []}
        hwm = 0
        for _ in range(rounds):  # interleaved, so a noisy neighbour hurts both alike
            times["baseline"].append(run_baseline(url, target))
            seconds, info = run_ours(url, target, packed_digest)
            times["ours"].append(seconds)
            hwm = max(hwm, info["vmhwm_kib"])
        verified = _digest(target, size) == raw_digest
        ours, base = (size / MiB / min(times[k]) for k in ("ours", "baseline"))
        note = (f"{size // MiB} MiB raw as {packed.stat().st_size // MiB} MiB zstd over HTTP on 127.0.0.1, "
                f"best of {rounds}; ours also hashes sha256; target verified byte for byte: {verified}")
        return [
            Figure("image write (download+zstd+sha256+O_DIRECT)", round(ours, 1), "MiB/s", round(base, 1),
                   BASELINE, ">= 0.9x", verified and ours / base >= 0.9, note),
            Figure("image write peak RSS", round(hwm / 1024, 1), "MiB", None, "", "<= 64 MiB",
                   hwm / 1024 <= 64, f"VmHWM of the agent-side process, interpreter included, "
                                     f"{size // MiB} MiB image"),
        ]
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
    else:
        print(format_table(run(quick="--quick" in sys.argv)))
