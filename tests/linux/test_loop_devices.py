"""The real LinuxBackend on loop devices, each run inside a private /dev holding only the loop device(s).

Root only. Every operation runs in `nsexec.py` under `unshare --mount`, with `only_devices` naming the
loop device; results are checked from the host by reading the loop device's backing file. Loop devices
are always detached, also when a test fails. No other block device is touched.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import pytest
from linux_loops import MIB, NEEDS_ROOT, Loop, in_namespace, make_gpt_disk

pytestmark = NEEDS_ROOT


def test_list_sees_only_the_allowlisted_loop_device(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(64 * MIB)
    out = in_namespace("list", loop)
    assert out["result"] == [{"path": loop.dev, "size": 64 * MIB, "transport": "loop", "fs_signatures": [],
                              "write_zeroes": True, "discard": True}]


def test_overwrite_zeroes_every_byte(make_loop: Callable[[int], Loop]) -> None:
    size = 200 * MIB + 4096  # not a multiple of the write size: the tail is written too
    loop = make_loop(size)
    loop.fill([0, 17 * MIB, 130 * MIB, size - 4096])
    out = in_namespace("overwrite", loop)
    assert "error" not in out, out
    assert out["last_progress"] == [size, size] and out["progress_calls"] > 2
    assert loop.all_zero()


def test_several_disks_overwritten_at_once(make_loop: Callable[[int], Loop]) -> None:
    loops = [make_loop((40 + 8 * i) * MIB) for i in range(3)]
    for loop in loops:
        loop.fill([0, 20 * MIB, loop.backing.stat().st_size - 4096])
    out = in_namespace("overwrite_all", loops[0], extra=tuple(loops[1:]), allow=tuple(loops))
    assert "error" not in out, out
    assert all(loop.all_zero() for loop in loops)


@pytest.mark.parametrize("op", ["discard", "write_zeroes"])
def test_offloads_leave_zeroes(make_loop: Callable[[int], Loop], op: str) -> None:
    size = 96 * MIB
    loop = make_loop(size)
    loop.fill([0, 50 * MIB, size - 4096])
    out = in_namespace(op, loop)
    assert "error" not in out, out
    assert out["last_progress"] == [size, size]
    assert loop.all_zero()


def test_secure_discard_a_loop_device_cannot_do_is_unsupported(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(16 * MIB)
    loop.fill([0])
    out = in_namespace("secure_discard", loop)
    assert out.get("error") == "Unsupported", out
    assert loop.backing.read_bytes()[:4096] == b"\xa5" * 4096


def test_quick_wipe_removes_every_signature_and_both_gpt_copies(make_loop: Callable[[int], Loop]) -> None:
    size = 128 * MIB
    loop = make_loop(size)
    ext4, vfat = make_gpt_disk(loop.backing)
    loop.fill([40 * MIB], b"payload!" * 512)  # user data a quick wipe leaves alone
    assert (loop.probe(), loop.probe(ext4), loop.probe(vfat)) == (0, 0, 0)
    listed = in_namespace("list", loop)["result"][0]["fs_signatures"]
    assert {"gpt", "ext4", "vfat"} <= set(listed)

    out = in_namespace("wipe", loop)
    assert "error" not in out, out
    assert {"gpt", "PMBR", "ext4", "vfat"} <= set(out["result"])
    assert (loop.probe(), loop.probe(ext4), loop.probe(vfat)) == (2, 2, 2)
    listing = subprocess.run(["wipefs", "--json", str(loop.backing)], capture_output=True, text=True).stdout
    assert not listing.strip() or json.loads(listing)["signatures"] == []
    data = loop.backing.read_bytes()
    assert data[:34 * 512].count(0) == 34 * 512  # protective MBR, primary header and entries
    assert data[-33 * 512:].count(0) == 33 * 512  # backup entries and header
    assert b"EFI PART" not in data
    assert data[40 * MIB:40 * MIB + 8] == b"payload!"


def test_device_outside_the_allowlist_is_refused(make_loop: Callable[[int], Loop]) -> None:
    allowed, other = make_loop(32 * MIB), make_loop(32 * MIB)
    other.fill([0, 16 * MIB])
    before = other.backing.read_bytes()
    for op in ("overwrite", "discard", "write_zeroes", "wipe", "read_head"):
        out = in_namespace(op, other, extra=(allowed,), allow=allowed)
        assert out.get("error") == "DeviceRefused", (op, out)
    assert other.backing.read_bytes() == before
    listed = in_namespace("list", allowed, extra=(other,))["result"]
    assert [d["path"] for d in listed] == [allowed.dev]
