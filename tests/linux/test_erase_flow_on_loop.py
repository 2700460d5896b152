"""decom.disk_erase's flow end to end on the real Linux backend: a loop device in a private /dev.

The planner sees what the backend reports for a loop device (discard without a zeroes guarantee, a
write-zeroes offload), picks its method, plants canaries, erases, verifies and certifies; the backing
file is then checked from the host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linux_loops import MIB, NEEDS_ROOT, Loop, in_namespace, make_gpt_disk

pytestmark = NEEDS_ROOT


def only_certificate(out: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in out, out
    result = out["result"]
    assert result["passed"], result
    (cert,) = result["certificates"]
    return dict(cert)


def test_default_ladder_uses_write_zeroes_and_explains_the_skips(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(96 * MIB)
    loop.fill([0, 33 * MIB, 96 * MIB - 4096])
    cert = only_certificate(in_namespace("erase", loop, params={}))
    assert (cert["method"], cert["outcome"], cert["device"]["path"]) == ("write_zeroes", "erased", loop.dev)
    reasons = {s["method"]: s["reason"] for s in cert["skipped_methods"]}
    assert "zeroes" in reasons["discard"] and "NVMe" in reasons["nvme_crypto_format"]
    assert cert["verification"]["passed"] and cert["digest"]
    assert loop.all_zero()


def test_overwrite_method_erases_verifies_and_certifies(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(80 * MIB)
    loop.fill([0, 40 * MIB, 80 * MIB - 4096])
    out = in_namespace("erase", loop, params={"methods": ["overwrite"], "verify": "full"})
    cert = only_certificate(out)
    assert (cert["method"], cert["outcome"]) == ("overwrite", "erased")
    assert cert["verification"]["passed"] and out["last_progress"][0] == out["last_progress"][1]
    assert loop.all_zero()


def test_quick_mode_wipes_metadata_only(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(128 * MIB)
    ext4, vfat = make_gpt_disk(loop.backing)
    loop.fill([40 * MIB], b"payload!" * 512)
    cert = only_certificate(in_namespace("erase", loop, params={"mode": "quick"}))
    assert {"gpt", "ext4", "vfat"} <= set(cert["details"]["signatures_found"])
    assert cert["verification"]["passed"]
    assert (loop.probe(), loop.probe(ext4), loop.probe(vfat)) == (2, 2, 2)
    assert loop.backing.read_bytes()[40 * MIB:40 * MIB + 8] == b"payload!"


def test_dry_run_plans_without_touching_the_disk(make_loop: Callable[[int], Loop]) -> None:
    loop = make_loop(32 * MIB)
    loop.fill([0, 16 * MIB])
    before = loop.backing.read_bytes()
    out = in_namespace("erase", loop, params={"dry_run": True})
    assert "error" not in out, out
    (disk,) = out["result"]["plan"]["disks"]
    assert (disk["action"], disk["method"]) == ("erase", "write_zeroes")
    assert loop.backing.read_bytes() == before
