"""Overwrite-erase throughput: our O_DIRECT overwrite vs `dd if=/dev/zero oflag=direct bs=4M`.

Both write zeroes over the same loop devices in the same run, alternating round by round, and both end
with a flush (`conv=fsync` for dd; the agent always flushes, since an erase must reach the medium).
Then N targets at once: N dd processes vs one agent process overwriting N devices concurrently.
Loop devices are backed by files in --backing-dir (default /dev/shm, so the figure is the write path's
own cost rather than the host disk's); they are detached and the files removed afterwards. Root only.

`run(quick, options)` returns the figures for `python -m benchmarks`; run directly it prints a table:
    sudo .venv/bin/python benchmarks/bench_erase.py [--size-mib 1024] [--targets 4] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figure import Figure
from teeth_agent.backend.linux.direct_io import overwrite_zeroes

MIB = 1 << 20
GOAL = 0.95


@contextmanager
def loop_devices(count: int, size: int, backing_dir: Path) -> Iterator[list[str]]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-erase-", dir=backing_dir))
    devices: list[str] = []
    try:
        for index in range(count):
            backing = workdir / f"target{index}.img"
            with backing.open("wb") as f:
                f.truncate(size)
            devices.append(subprocess.run(["losetup", "--find", "--show", str(backing)], check=True,
                                          capture_output=True, text=True).stdout.strip())
        yield devices
    finally:
        for dev in devices:
            subprocess.run(["losetup", "-d", dev], check=False)
        for leftover in workdir.iterdir():
            leftover.unlink()
        workdir.rmdir()


def dd_argv(dev: str, size: int) -> list[str]:
    return ["dd", "if=/dev/zero", f"of={dev}", "oflag=direct", "bs=4M", f"count={size // (4 * MIB)}",
            "conv=fsync", "status=none"]


def time_dd(devices: list[str], size: int) -> float:
    start = time.perf_counter()
    procs = [subprocess.Popen(dd_argv(dev, size)) for dev in devices]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("dd failed")
    return time.perf_counter() - start


def time_agent(devices: list[str]) -> float:
    async def all_targets() -> None:
        await asyncio.gather(*(overwrite_zeroes(dev, lambda done, total: None) for dev in devices))

    start = time.perf_counter()
    asyncio.run(all_targets())
    return time.perf_counter() - start


def compare(devices: list[str], size: int, rounds: int) -> dict[str, float]:
    time_dd(devices, size)  # warm-up: both sides then write over already-allocated backing pages
    dd_times, agent_times = [], []
    for index in range(rounds):
        # Alternate who goes first, so neither side always inherits the other's writeback.
        if index % 2:
            agent_times.append(time_agent(devices))
            dd_times.append(time_dd(devices, size))
        else:
            dd_times.append(time_dd(devices, size))
            agent_times.append(time_agent(devices))
    total = size * len(devices) / MIB
    dd_rate, agent_rate = total / statistics.median(dd_times), total / statistics.median(agent_times)
    return {"targets": len(devices), "dd_mib_s": round(dd_rate, 1), "agent_mib_s": round(agent_rate, 1),
            "ratio": round(agent_rate / dd_rate, 3)}


def measure(size_mib: int, targets: int, rounds: int, backing_dir: str) -> list[dict[str, float]]:
    if os.geteuid() != 0:
        raise RuntimeError("bench_erase needs root (loop devices)")
    size = size_mib * MIB
    with loop_devices(max(targets, 1), size, Path(backing_dir)) as devices:
        return [compare(devices[:1], size, rounds), compare(devices, size, rounds)]


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--erase-size-mib", type=int, default=None, help="per target (default 1024)")
    group.add_argument("--erase-targets", type=int, default=4, help="targets in the parallel run")
    group.add_argument("--erase-rounds", type=int, default=None, help="rounds per figure (default 5)")
    group.add_argument("--erase-backing-dir", default=_default_backing(), help="where loop files live")


def _default_backing() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def run(quick: bool, options: argparse.Namespace | None = None) -> list[Figure]:
    """The figures for `python -m benchmarks`: one target, then N targets at once."""
    size_mib = getattr(options, "erase_size_mib", None) or (256 if quick else 1024)
    rounds = getattr(options, "erase_rounds", None) or (3 if quick else 5)
    targets = getattr(options, "erase_targets", 4)
    backing = getattr(options, "erase_backing_dir", None) or _default_backing()
    figures = []
    for r in measure(size_mib, targets, rounds, backing):
        count = int(r["targets"])
        figures.append(Figure(
            name=f"overwrite erase, {count} target{'s' if count > 1 else ''}", value=r["agent_mib_s"],
            unit="MiB/s", baseline=r["dd_mib_s"], baseline_name="dd if=/dev/zero oflag=direct bs=4M",
            goal=f">= {GOAL}x", met=r["ratio"] >= GOAL,
            note=f"{size_mib} MiB per loop target backed by {backing}, median of {rounds}, both flush"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--targets", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backing-dir", default=_default_backing())
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = parser.parse_args()
    results = measure(args.size_mib, args.targets, args.rounds, args.backing_dir)
    if args.json:
        print(json.dumps({"figure": "overwrite erase", "goal_ratio": GOAL, "results": results}))
        return
    print(f"overwrite erase, {args.size_mib} MiB per target, median of {args.rounds} rounds "
          f"(backing: {args.backing_dir})")
    print(f"{'targets':>8} {'dd oflag=direct bs=4M':>22} {'teeth-agent':>12} {'ratio':>6}  goal >= {GOAL}")
    for r in results:
        verdict = "ok" if r["ratio"] >= GOAL else "BELOW GOAL"
        print(f"{r['targets']:>8} {r['dd_mib_s']:>16.1f} MiB/s {r['agent_mib_s']:>6.1f} MiB/s "
              f"{r['ratio']:>6.3f}  {verdict}")


if __name__ == "__main__":
    main()
