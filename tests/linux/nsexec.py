"""Run one LinuxBackend operation inside a private mount namespace whose /dev holds only given nodes.

Invoked by tests/linux/test_loop_devices.py as
    unshare --mount --propagation private python nsexec.py '<json spec>'
with spec {"nodes": {"/dev/loop5": [7, 5], ...}, "allow": ["/dev/loop5"], "op": "overwrite", "path": ...,
"params": {...}} (params: decom.disk_erase's, for op "erase").
It mounts a fresh tmpfs on /dev (visible only in this namespace), creates the block nodes, runs the
operation on the real backend with `only_devices=allow`, and prints one JSON line with the outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from teeth_agent.backend.api import Backend, Progress
from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.linux.factory import make_linux_backend
from teeth_agent.erase.executor import run_erase
from teeth_agent.erase.params import parse_erase_params
from teeth_agent.tasks.context import TaskContext


def private_dev(nodes: dict[str, list[int]]) -> list[str]:
    # Never replace the host's /dev: the launcher passes its mount namespace, ours must be another one.
    mine = os.readlink("/proc/self/ns/mnt")
    if mine == os.environ.get("TEETH_HOST_MNTNS", mine):
        raise SystemExit("nsexec.py must run in its own mount namespace (unshare --mount)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", "/dev"], check=True)
    for path, (major, minor) in nodes.items():
        os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(major, minor))
    return sorted(os.listdir("/dev"))


async def erase(backend: Backend, params: dict[str, Any], progress: Progress) -> Any:
    """decom.disk_erase's flow, as the agent runs it, on this backend."""
    ctx = TaskContext(task_id="loop-erase", method="decom.disk_erase", backend=backend, progress=progress,
                      log=logging.LoggerAdapter(logging.getLogger("erase"), {}),
                      state_dir=Path(tempfile.mkdtemp(prefix="erase-state-")))
    return await run_erase(ctx, parse_erase_params(params))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    # The backend exactly as the agent's CLI builds it (`--only-devices`).
    backend = make_linux_backend(only_devices=spec["allow"])
    ticks: list[tuple[float, float]] = []

    def progress(done: float, total: float) -> None:
        ticks.append((done, total))

    op, path = spec["op"], spec.get("path", "")
    result: Any = None
    if op == "list":
        result = [{"path": d.path, "size": d.size, "transport": str(d.transport),
                   "fs_signatures": list(d.fs_signatures), "write_zeroes": d.write_zeroes_supported,
                   "discard": d.discard_supported} for d in await backend.list_disks()]
    elif op == "overwrite":
        await backend.overwrite(path, progress=progress)
    elif op == "overwrite_all":  # every allowed device at once, as the erase executor runs them
        await asyncio.gather(*(backend.overwrite(p, progress=progress) for p in spec["allow"]))
    elif op == "discard":
        await backend.discard(path, secure=False, progress=progress)
    elif op == "secure_discard":
        await backend.discard(path, secure=True, progress=progress)
    elif op == "write_zeroes":
        await backend.write_zeroes(path, progress=progress)
    elif op == "wipe":
        result = list(await backend.wipe_signatures(path))
    elif op == "erase":
        result = await erase(backend, spec["params"], progress)
    elif op == "read_head":
        handle = await backend.open_block(path, writable=False)
        try:
            result = (await handle.read_at(0, handle.alignment)).hex()
        finally:
            await handle.close()
    else:
        raise SystemExit(f"unknown op {op!r}")
    return {"result": result, "last_progress": ticks[-1] if ticks else None, "progress_calls": len(ticks)}


def main() -> None:
    spec = json.loads(sys.argv[1])
    outcome: dict[str, Any] = {"dev": private_dev(spec["nodes"])}
    try:
        outcome |= asyncio.run(run(spec))
    except BackendError as exc:
        outcome |= {"error": type(exc).__name__, "message": str(exc)}
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
