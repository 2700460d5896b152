"""Run one standby operation on the real Linux backend inside a private /dev (loop devices only).

Invoked by standby_loop_support.in_standby_namespace as
    unshare --mount --propagation private python standby_ns.py '<json spec>'
with spec {"nodes": {"/dev/loop5": [7, 5]}, "allow": ["/dev/loop5"], "op": "...", "args": {...}}.
The private /dev comes from tests/linux/nsexec.py (`private_dev`, reused unchanged); partition nodes of
the allowed loop devices are kept as devtmpfs would (standby_devnodes.DevtmpfsRunner). The backend is
`make_linux_backend(only_devices=allow, runner=..., root=...)`; `root` (a directory standing in for /,
holding proc/sys/kernel/kexec_load_disabled) is given only for ops that reach kexec, whose tool is never
run (NoKexecRunner). Prints one JSON line: {"dev": [...], "result": ...} or {"error": ..., ...}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

from nsexec import private_dev
from standby_devnodes import DevtmpfsRunner, NoKexecRunner

from teeth_agent.backend.api import Backend
from teeth_agent.backend.errors import BackendError
from teeth_agent.backend.linux.exec import SubprocessRunner
from teeth_agent.backend.linux.factory import make_linux_backend
from teeth_agent.backend.types import BootMode, KexecTarget
from teeth_agent.commands.standby import TASKS
from teeth_agent.errors import CommandError
from teeth_agent.http.errors import HttpError
from teeth_agent.tasks.context import TaskContext

SPECS = {spec.method: spec for spec in TASKS}


async def task(backend: Backend, method: str, params: dict[str, Any], state_dir: str) -> Any:
    """A standby task exactly as the runner drives it: validate, then run with a TaskContext."""
    ticks: list[tuple[float, float]] = []
    ctx = TaskContext(task_id=params.get("task_id", "loop"), method=method, backend=backend,
                      progress=lambda done, total: ticks.append((done, total)),
                      log=logging.LoggerAdapter(logging.getLogger(method), {}), state_dir=Path(state_dir))
    spec = SPECS[method]
    result = await spec.run(ctx, spec.validate(params))
    return {"result": result, "last_progress": ticks[-1] if ticks else None}


def read_tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def op(backend: Backend, name: str, disk: str, args: dict[str, Any]) -> Any:
    if name == "task":
        return await task(backend, args["method"], args["params"], args["state_dir"])
    if name == "write_config_drive":
        return await backend.write_config_drive(disk, read_tree(Path(args["files_dir"])))
    if name == "install_bootloader":
        done = await backend.install_bootloader(disk, BootMode(args["mode"]))
        return {"disk": done.disk, "mode": done.mode.value, "efi_entry": done.efi_entry}
    if name == "read_grub_config":
        return await backend.read_grub_config(disk)
    if name == "kexec_load":
        await backend.kexec_load(disk, KexecTarget(**args["target"]))
        return None
    raise SystemExit(f"unknown op {name!r}")


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    allow = spec["allow"]
    no_kexec = NoKexecRunner(DevtmpfsRunner(SubprocessRunner(), allow))
    root = spec["args"].get("root")
    backend: Any = make_linux_backend(only_devices=allow, runner=no_kexec,
                                      root=Path(root) if root else Path("/"))
    try:
        result = await op(backend, spec["op"], spec["args"].get("disk", allow[0]), spec["args"])
    except (BackendError, CommandError, HttpError) as exc:
        out: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        out["type"] = getattr(exc, "type", None)
    else:
        out = {"result": result}
    out["kexec_calls"] = no_kexec.kexec_calls
    out["efibootmgr_calls"] = no_kexec.efibootmgr_calls
    return out


def _kind(path: Path) -> str:
    mode = path.lstat().st_mode
    if stat.S_ISCHR(mode):
        rdev = path.lstat().st_rdev
        return f"char {os.major(rdev)}:{os.minor(rdev)}"
    kinds = {stat.S_ISBLK: "block", stat.S_ISREG: "file", stat.S_ISDIR: "dir"}
    return next((name for test, name in kinds.items() if test(mode)), "other")


def main() -> None:
    spec = json.loads(sys.argv[1])
    outcome: dict[str, Any] = {"dev": private_dev(spec["nodes"])}
    outcome |= asyncio.run(run(spec))
    outcome["dev_after"] = {str(p.relative_to("/dev")): _kind(p) for p in sorted(Path("/dev").rglob("*"))}
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
