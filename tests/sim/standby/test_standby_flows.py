"""standbye.cache_images / prepare_image / run_image on the simulator, images from a local HTTP server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard
from standby_sim_support import make_ctx, profile_with_disks, server_fixture, vm_fixture  # noqa: F401

from simulator.machine.backend import SimBackend, make_backend
from simulator.machine.clock import SimClock
from simulator.machine.image_format import ImageHeader, expected_bytes, iter_image
from teeth_agent.commands.standby import AFTER_ACK, TASKS
from teeth_agent.errors import InvalidParams, NotFound
from teeth_agent.images.errors import ChecksumMismatch, ImageTooLarge
from teeth_agent.tasks.context import TaskContext

MiB = 1 << 20
SPECS = {spec.method: spec for spec in TASKS}


def sim_image(name: str, size: int = 48 * MiB, **kw: Any) -> tuple[ImageHeader, bytes]:
    header = ImageHeader(name=name, size=size, **kw)
    return header, b"".join(iter_image(header))


def serve(server: Any, name: str, body: bytes) -> dict[str, Any]:
    """Serve `body` zstd-compressed; return the wire image."""
    packed = zstandard.ZstdCompressor().compress(body)
    server.routes[f"/{name}.img"] = server_route(packed)
    return {"id": name, "urls": [server.url(f"/{name}.img")], "disk_format": "raw",
            "hashes": {"sha256": hashlib.sha256(packed).hexdigest()}}


def server_route(body: bytes) -> Any:
    import image_server

    return image_server.Route(body=body)


async def task(ctx: TaskContext, method: str, params: dict[str, Any]) -> dict[str, Any]:
    spec = SPECS[method]
    return await spec.run(ctx, spec.validate(params))


def assert_image_on(backend: SimBackend, path: str, header: ImageHeader) -> None:
    disk = backend.machine.disk(path)
    for offset in (0, MiB, header.size - MiB):
        assert disk.content.read(offset, 4096) == expected_bytes(header, offset, 4096)
    assert disk.image_header() == header


async def test_cache_then_prepare_from_cache_then_kexec(vm: SimBackend, server: Any, tmp_path: Path) -> None:
    header, body = sim_image("tenant-a")
    image = serve(server, "tenant-a", body)
    cached = await task(make_ctx(vm, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                        {"task_id": "t1", "images": [image]})
    assert [c["id"] for c in cached["cached"]] == ["tenant-a"]
    assert cached["cached"][0]["location"] == "cache_disk"
    requests_after_cache = len(server.requests)

    prepared = await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                          {"task_id": "t2", "image": image})
    assert prepared["source"] == "cache"
    assert len(server.requests) == requests_after_cache  # nothing downloaded again
    install = prepared["disk"]
    assert vm.machine.disk(install).spec.size == 8 << 30  # the smallest disk that fits
    assert_image_on(vm, install, header)
    assert prepared["backup_gpt_repaired"] is True

    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "t3", "image_id": "tenant-a",
                         "configdrive": {"meta_data": {"uuid": "inst-1"}, "user_data": "#cloud-config\n"}})
    assert result["action"] == "kexec"
    assert result["kexec"]["kernel"] == "/boot/vmlinuz-6.1.0-tenant"
    entry = cached["cached"][0]
    assert result["cache_wiped"] == {"disk": entry["disk"], "images": 1, "method": "discard"}
    assert vm.machine.disk(entry["disk"]).content.read(entry["offset"], 4096) == bytes(4096)
    assert vm.machine.running.kind == "ramdisk"  # nothing happens before the acknowledgement
    await AFTER_ACK["standbye.run_image"](vm, result)
    assert vm.machine.running.kind == "tenant"
    assert vm.machine.running.via == "kexec"
    assert vm.machine.running.instance_uuid == "inst-1"


async def test_kexec_never_reboots_into_grub(vm: SimBackend, server: Any, tmp_path: Path) -> None:
    _header, body = sim_image("tenant-b")
    image = serve(server, "tenant-b", body)
    await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
               {"task_id": "t1", "image": image})
    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "t2", "image_id": "tenant-b", "kexec": "never",
                         "configdrive": {"meta_data": {"uuid": "inst-2"}}})
    assert result["action"] == "reboot"
    assert result["bootloader"]["mode"] == "uefi"
    await AFTER_ACK["standbye.run_image"](vm, result)
    assert (vm.machine.running.kind, vm.machine.running.via) == ("tenant", "reboot")
    assert vm.machine.running.instance_uuid == "inst-2"


async def test_grub_without_kernel_falls_back_to_reboot(vm: SimBackend, server: Any, tmp_path: Path) -> None:
    _header, body = sim_image("tenant-c", grub_cfg="set default=0\nmenuentry 'chain' {\n chainloader +1\n}\n")
    image = serve(server, "tenant-c", body)
    await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
               {"task_id": "t1", "image": image})
    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "t2", "image_id": "tenant-c", "configdrive": {"meta_data": {}}})
    assert result["action"] == "reboot"
    assert "loads no linux kernel" in result["reason"]


async def test_cache_keeps_priority_order_and_reports_what_does_not_fit(
    server: Any, tmp_path: Path
) -> None:
    # The cache disk holds two 8 MiB images: the third (least important) is skipped.
    backend = make_backend(str(profile_with_disks(tmp_path, "8GiB", "20MiB")), clock=SimClock(speed=1e6))
    images = []
    for name in ("p0", "p1", "p2"):
        _, body = sim_image(name, 8 * MiB)
        route_body = body  # served uncompressed so each takes its full size in the cache
        server.routes[f"/{name}"] = server_route(route_body)
        images.append({"id": name, "urls": [server.url(f"/{name}")], "disk_format": "raw",
                       "hashes": {"sha256": hashlib.sha256(route_body).hexdigest()}})
    bad = {**images[0], "id": "bad", "hashes": {"sha256": "0" * 64}}
    ctx = make_ctx(backend, tmp_path, "standbye.cache_images")
    report = await task(ctx, "standbye.cache_images",
                        {"task_id": "t1", "images": [images[0], bad, images[1], images[2]]})
    assert [c["id"] for c in report["cached"]] == ["p0", "p1"]
    skipped = {s["id"]: s["reason"] for s in report["skipped"]}
    assert "does not fit" in skipped["p2"]
    assert "mismatch" in skipped["bad"]
    index = json.loads((tmp_path / "image-cache.json").read_text())
    assert [e["id"] for e in index["entries"]] == ["p0", "p1"]

    # A new priority list (read from the index on disk, as after a restart): p2 now outranks p0 and p1
    # is no longer wanted, so p1 is evicted for p2 and p0 is kept without a new download.
    p0_requests = len(server.requests_for("/p0"))
    again = await task(make_ctx(backend, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                       {"task_id": "t2", "images": [images[2], images[0]]})
    assert [(c["id"], c["newly_cached"]) for c in again["cached"]] == [("p2", True), ("p0", False)]
    assert again["cached"][0]["evicted"] == ["p1"]
    assert len(server.requests_for("/p0")) == p0_requests
    index = json.loads((tmp_path / "image-cache.json").read_text())
    assert sorted(e["id"] for e in index["entries"]) == ["p0", "p2"]


async def test_prepare_onto_the_cache_disk_drops_the_cache_and_downloads(server: Any, tmp_path: Path) -> None:
    backend = make_backend(str(profile_with_disks(tmp_path, "8GiB", "8GiB")), clock=SimClock(speed=1e6))
    header, body = sim_image("onto-cache")
    image = serve(server, "onto-cache", body)
    cached = await task(make_ctx(backend, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                        {"task_id": "t1", "images": [image]})
    cache_disk = cached["cached"][0]["disk"]
    requests = len(server.requests)
    prepared = await task(make_ctx(backend, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                          {"task_id": "t2", "image": image, "root_device": {"path": cache_disk}})
    assert (prepared["disk"], prepared["source"]) == (cache_disk, "download")
    assert len(server.requests) == requests + 1
    assert_image_on(backend, cache_disk, header)
    index = json.loads((tmp_path / "image-cache.json").read_text())
    assert index["cache_disk"] is None and index["entries"] == []  # nothing left that claims to be cached
    assert index["installed"]["id"] == "onto-cache"


async def test_single_disk_prewrites_only_the_top_image(server: Any, tmp_path: Path) -> None:
    backend = make_backend(str(profile_with_disks(tmp_path, "8GiB")), clock=SimClock(speed=1e6))
    disks = await backend.list_disks()
    header, body = sim_image("top")
    top = serve(server, "top", body)
    _, body2 = sim_image("second")
    second = serve(server, "second", body2)
    report = await task(make_ctx(backend, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                        {"task_id": "t1", "images": [top, second]})
    assert report["cached"][0]["location"] == "install_disk"
    assert "only the top-priority image" in report["skipped"][0]["reason"]
    assert_image_on(backend, disks[0].path, header)
    requests = len(server.requests)
    prepared = await task(make_ctx(backend, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                          {"task_id": "t2", "image": top})
    assert prepared["source"] == "already_installed"
    assert len(server.requests) == requests


async def test_wrong_checksum_on_prepare_leaves_disk_unbootable(
    vm: SimBackend, server: Any, tmp_path: Path
) -> None:
    _, body = sim_image("tenant-d")
    image = serve(server, "tenant-d", body) | {"hashes": {"sha256": "1" * 64}}
    with pytest.raises(ChecksumMismatch):
        await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                   {"task_id": "t1", "image": image})
    install = next(d for d in await vm.list_disks() if d.size == 8 << 30)
    assert vm.machine.disk(install.path).image_header() is None
    assert vm.machine.disk(install.path).content.read(0, MiB) == bytes(MiB)
    with pytest.raises(NotFound, match="has not been prepared"):
        await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                   {"task_id": "t2", "image_id": "tenant-d", "configdrive": {"meta_data": {}}})


async def test_root_device_hints_choose_the_disk(vm: SimBackend, server: Any, tmp_path: Path) -> None:
    header, body = sim_image("tenant-e")
    image = serve(server, "tenant-e", body)
    big = next(d for d in await vm.list_disks() if d.size == 20 << 30)
    prepared = await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                          {"task_id": "t1", "image": image, "root_device": {"serial": big.serial}})
    assert prepared["disk"] == big.path
    assert_image_on(vm, big.path, header)
    with pytest.raises(NotFound, match="root device hints"):
        await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                   {"task_id": "t2", "image": image, "root_device": {"serial": "nope"}})


def test_malformed_params_name_the_field() -> None:
    good: dict[str, Any] = {"id": "x", "urls": ["http://127.0.0.1/x"], "hashes": {"sha256": "a" * 64},
                            "disk_format": "raw"}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("standbye.cache_images", {"images": []}, "images"),
        ("standbye.cache_images", {"images": [good | {"urls": ["ftp://x"]}]}, "images[0].urls[0]"),
        ("standbye.cache_images", {"images": [good, good]}, "images"),
        ("standbye.prepare_image", {"image": good | {"disk_format": "vmdk"}}, "image.disk_format"),
        ("standbye.prepare_image", {"image": good | {"hashes": {"md5": "a" * 32}}}, "image.hashes.md5"),
        ("standbye.prepare_image", {"image": good, "root_device": {"colour": "red"}}, "root_device.colour"),
        ("standbye.run_image", {"configdrive": {"meta_data": {}}}, "image_id"),
        ("standbye.run_image", {"image_id": "x", "configdrive": {"user_data": "u"}}, "configdrive.meta_data"),
        ("standbye.run_image", {"image_id": "x", "configdrive": {"meta_data": {}}, "kexec": "maybe"},
         "kexec"),
        ("standbye.run_image", {"image_id": "x", "configdrive": {"meta_data": {"big": "x" * (65 << 20)}}},
         "configdrive"),
    ]
    for method, params, field in cases:
        with pytest.raises(InvalidParams) as caught:
            SPECS[method].validate({"task_id": "t"} | params)
        assert caught.value.field == field, (method, params)


async def test_corrupted_cache_copy_is_dropped_and_downloaded(
    vm: SimBackend, server: Any, tmp_path: Path
) -> None:
    header, body = sim_image("tenant-f")
    image = serve(server, "tenant-f", body)
    cached = await task(make_ctx(vm, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                        {"task_id": "t1", "images": [image]})
    entry = cached["cached"][0]
    vm.machine.disk(entry["disk"]).content.write(entry["offset"], b"\xff" * 4096)  # bit rot on the cache disk
    prepared = await task(make_ctx(vm, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                          {"task_id": "t2", "image": image})
    assert prepared["source"] == "download"
    assert_image_on(vm, prepared["disk"], header)
    index = json.loads((tmp_path / "image-cache.json").read_text())
    assert index["entries"] == [] and index["installed"]["id"] == "tenant-f"


async def test_image_larger_than_the_chosen_disk(server: Any, tmp_path: Path) -> None:
    backend = make_backend(str(profile_with_disks(tmp_path, "8GiB", "32MiB")), clock=SimClock(speed=1e6))
    small = next(d for d in await backend.list_disks() if d.size == 32 * MiB)
    _, body = sim_image("too-big", 48 * MiB)
    image = serve(server, "too-big", body)
    with pytest.raises(ImageTooLarge, match="larger than the target"):
        await task(make_ctx(backend, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
                   {"task_id": "t1", "image": image, "root_device": {"path": small.path}})
    assert backend.machine.disk(small.path).image_header() is None
    assert backend.machine.disk(small.path).content.read(0, MiB) == bytes(MiB)


async def prepared_vm(server: Any, tmp_path: Path, name: str, backend: SimBackend) -> None:
    _, body = sim_image(name)
    await task(make_ctx(backend, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
               {"task_id": "p", "image": serve(server, name, body)})


async def test_explicit_kernel_params_are_used(vm: SimBackend, server: Any, tmp_path: Path) -> None:
    await prepared_vm(server, tmp_path, "tenant-g", vm)
    boot = {"kernel": "/boot/vmlinuz-6.1.0-tenant", "initrd": "/boot/initrd.img-6.1.0-tenant",
            "cmdline": "root=LABEL=root console=ttyS1"}
    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "r", "image_id": "tenant-g", "configdrive": {"meta_data": {}},
                         "boot": boot})
    assert result["action"] == "kexec" and result["kexec"]["cmdline"] == "root=LABEL=root console=ttyS1"
    assert "explicit" in result["reason"]


async def test_explicit_kernel_missing_from_the_image_falls_back_to_reboot(
    vm: SimBackend, server: Any, tmp_path: Path
) -> None:
    await prepared_vm(server, tmp_path, "tenant-h", vm)
    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "r", "image_id": "tenant-h", "configdrive": {"meta_data": {}},
                         "boot": {"kernel": "/boot/nope"}})
    assert result["action"] == "reboot" and "kexec load failed" in result["reason"]


async def test_kernel_that_forbids_kexec_means_reboot(server: Any, tmp_path: Path) -> None:
    profile = profile_with_disks(tmp_path, "8GiB")
    profile.write_text(profile.read_text().replace("[boot]\n", "[boot]\nkexec_allowed = false\n"))
    backend = make_backend(str(profile), clock=SimClock(speed=1e6))
    await prepared_vm(server, tmp_path, "tenant-i", backend)
    result = await task(make_ctx(backend, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "r", "image_id": "tenant-i", "configdrive": {"meta_data": {}}})
    assert result["action"] == "reboot" and "does not allow kexec" in result["reason"]


async def test_after_ack_reboots_when_the_loaded_kernel_is_gone(
    vm: SimBackend, server: Any, tmp_path: Path
) -> None:
    await prepared_vm(server, tmp_path, "tenant-j", vm)
    result = await task(make_ctx(vm, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "r", "image_id": "tenant-j", "configdrive": {"meta_data": {}}})
    assert result["action"] == "kexec"
    vm.machine.kexec_loaded = None  # e.g. unloaded between the result and the acknowledgement
    await AFTER_ACK["standbye.run_image"](vm, result)
    assert (vm.machine.running.kind, vm.machine.running.via) == ("tenant", "reboot")


async def test_run_image_zeroes_a_cache_that_cannot_be_discarded(server: Any, tmp_path: Path) -> None:
    backend = make_backend(str(profile_with_disks(tmp_path, "8GiB", "64MiB")), clock=SimClock(speed=1e6))
    _, body = sim_image("tenant-k", 8 * MiB)
    image = serve(server, "tenant-k", body)
    cached = await task(make_ctx(backend, tmp_path, "standbye.cache_images"), "standbye.cache_images",
                        {"task_id": "c", "images": [image]})
    entry = cached["cached"][0]
    cache = backend.machine.disk(entry["disk"])
    assert cache.content.read(entry["offset"], 4) == zstandard.ZstdCompressor().compress(body)[:4]
    await task(make_ctx(backend, tmp_path, "standbye.prepare_image"), "standbye.prepare_image",
               {"task_id": "p", "image": image})
    result = await task(make_ctx(backend, tmp_path, "standbye.run_image"), "standbye.run_image",
                        {"task_id": "r", "image_id": "tenant-k", "configdrive": {"meta_data": {}}})
    assert result["cache_wiped"] == {"disk": entry["disk"], "images": 1, "method": "zeroes"}
    assert cache.content.read(entry["offset"], entry["size"]) == bytes(entry["size"])
    assert json.loads((tmp_path / "image-cache.json").read_text())["entries"] == []
