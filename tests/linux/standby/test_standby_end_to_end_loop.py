"""standbye.prepare_image then standbye.run_image, as the agent runs them, on the real Linux backend: a
grub-bootable tenant image served zstd-compressed over 127.0.0.1 onto a loop device in a private /dev,
then the config drive, grub (BIOS) and the kexec decision. Everything but the final `kexec -e` (the VM
testbed's job): the kexec tool itself is only recorded, and `root` stands in for / with kexec allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from standby_configdrive_read import config_drive_files
from standby_images import MIB, encode, grub_disk, static_server, wire_image
from standby_loop_support import NEEDS_ROOT, AttachLoop, in_standby_namespace, ok, probe
from standby_tables import read_table
from standby_tenant import BOOT_FILES, EXPECTED, GRUB_CFG, INITRD, KERNEL, PARAMS, kexec_root

pytestmark = NEEDS_ROOT
DISK = 96 * MIB
IMAGE = 64 * MIB


def prepare_then_run(attach_loop: AttachLoop, tmp_path: Path, run_params: dict[str, Any]
                     ) -> tuple[Any, bytes, dict[str, Any], dict[str, Any]]:
    raw = tmp_path / "tenant.raw"
    grub_disk(raw, IMAGE, BOOT_FILES)
    body = encode(raw, "zst", tmp_path)
    www = tmp_path / "www"
    www.mkdir()
    (www / "tenant.zst").write_bytes(body)
    loop = attach_loop(DISK)
    state, root = str(tmp_path / "state"), kexec_root(tmp_path, "0")
    with static_server(www) as base:
        image = wire_image("tenant", f"{base}/tenant.zst", body)
        prepared = ok(in_standby_namespace(
            "task", loop, method="standbye.prepare_image", state_dir=state, root=root,
            params={"task_id": "p1", "image": image, "root_device": {"path": loop.dev}}))
    ran = in_standby_namespace("task", loop, method="standbye.run_image", state_dir=state, root=root,
                               params={"task_id": "r1", "image_id": "tenant", "configdrive": PARAMS,
                                       **run_params})
    return loop, raw.read_bytes(), prepared["result"], ran


def test_prepare_then_run_image_ends_with_a_loaded_kexec_target(attach_loop: AttachLoop, tmp_path: Path
                                                                ) -> None:
    loop, raw, prepared, ran = prepare_then_run(attach_loop, tmp_path, {"boot": {"mode": "bios"}})
    assert (prepared["disk"], prepared["size"], prepared["compression"]) == (loop.dev, IMAGE, "zstd")
    result = ok(ran)["result"]
    bootloader = {"mode": "bios", "efi_entry": None, "removed_entries": []}
    assert (result["action"], result["disk"], result["bootloader"]) == ("kexec", loop.dev, bootloader)
    expected = {"kernel": EXPECTED.kernel, "initrd": EXPECTED.initrd, "cmdline": EXPECTED.cmdline}
    assert result["kexec"] == expected
    (call,) = ran["kexec_calls"]
    assert sorted(call["files"].values()) == sorted([KERNEL.decode(), INITRD.decode()])
    assert ran["efibootmgr_calls"] == []

    after = loop.backing.read_bytes()
    assert b"GRUB" in after[:440] and after[440:510] != raw[440:510]  # boot code + the new partition
    table = read_table(loop.backing)
    image_part, drive = sorted(table["partitions"], key=lambda p: p["start"])
    assert (image_part["start"], image_part["size"]) == (2048, IMAGE // 512 - 2048)
    assert result["config_drive"] == f"{loop.dev}p{drive['number']}"
    assert probe(loop.backing, drive["start"] * 512)["LABEL"] == "config-2"
    files, _ = config_drive_files(loop.backing, drive["start"] * 512, drive["size"] * 512, "iso9660")
    assert json.loads(files["openstack/latest/meta_data.json"]) == PARAMS["meta_data"]
    assert files["openstack/latest/user_data"].decode() == PARAMS["user_data"]
    assert GRUB_CFG.encode() in after[2048 * 512:IMAGE]  # the tenant's grub.cfg is still its own


def test_kexec_never_means_reboot_and_no_kernel_loaded(attach_loop: AttachLoop, tmp_path: Path) -> None:
    _, _, _, ran = prepare_then_run(attach_loop, tmp_path, {"kexec": "never", "boot": {"mode": "bios"}})
    result = ok(ran)["result"]
    assert (result["action"], result["kexec"]) == ("reboot", None)
    assert "never" in result["reason"]
    assert ran["kexec_calls"] == []


def test_run_image_for_an_image_never_prepared_is_refused(attach_loop: AttachLoop, tmp_path: Path) -> None:
    loop = attach_loop(32 * MIB)
    out = in_standby_namespace("task", loop, method="standbye.run_image", state_dir=str(tmp_path / "state"),
                               params={"task_id": "r1", "image_id": "nope", "configdrive": PARAMS})
    assert out.get("type") == "not_found" and "prepare_image first" in out["message"], out
    assert loop.backing.read_bytes() == bytes(32 * MIB)
