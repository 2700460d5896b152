"""Standby end to end on one ramdisk VM, in order (each step builds on the gz steps before it):
the agent killed inside the guest while the image server holds its download still delivers that
task's final status once (and leaves nothing half-cached behind: the next steps fetch the same image),
cache both served images, prepare each onto a disk and check it from the host, run_image with kexec
(tenant marker and config drive uuid on the console), then boot the ramdisk again, run_image with
`kexec: never`: the agent reboots, the testbed switches the VM to disk boot, SeaBIOS -> grub -> tenant.
"""

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from testbed import diskcheck, scenarios, served_images, tenant_files
from testbed.agent_vm import AgentVm, agent_info, await_agent, await_new_link, ramdisk_agent
from testbed.guest_shell import GuestShell
from testbed.ramdisk import RamdiskArtifacts
from testbed.services import Hold, image_server
from testbed.session import Session
from testbed.spec import DiskBoot, VmSpec

pytestmark = [pytest.mark.testbed, pytest.mark.asyncio(loop_scope="module")]
TASK_WITHIN_S = 900.0
TENANT_WITHIN_S = 240.0
INSTALL_DISK = {"serial": "TB-VIRTIO-0"}
QCOW2_DISK = {"serial": "TB-SATA-0"}
HELD_AFTER_BYTES = 256 << 10
SHOW_AGENT_UNIT = "systemctl show -p NRestarts -p MainPID teeth-agent.service"
GUEST_CACHE_INDEX = "/var/lib/teeth-agent/image-cache.json"  # the unit's --state-dir, INDEX_NAME


@dataclasses.dataclass
class Standby:
    running: AgentVm
    images: served_images.ServedImages
    hold: Hold


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def standby(testbed_session: Session, ramdisk: RamdiskArtifacts,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Standby]:
    images = served_images.make(testbed_session.tenant.disk, tmp_path_factory.mktemp("served"))
    hold = Hold(images.gz_path.name, after_bytes=HELD_AFTER_BYTES)
    with image_server(images.gz_path.parent, hold) as server:

        def make_spec(port: int) -> VmSpec:
            return scenarios.ramdisk_spec("standby-0", ramdisk.kernel, ramdisk.initramfs, port,
                                          image_port=server.port, on_reboot="destroy")

        async with ramdisk_agent(testbed_session.testbed, make_spec) as running:
            yield Standby(running, images, hold)


async def run(vm: AgentVm, method: str, params: dict[str, Any]) -> dict[str, Any]:
    final = await vm.endpoint.run_task(vm.agent.agent_id, method, params, timeout=TASK_WITHIN_S)
    assert final["state"] == "complete", f"{method} ended {final}; console log: {vm.vm.console.path}"
    return final


async def test_an_agent_restart_mid_download_delivers_the_final_status_once(standby: Standby) -> None:
    running, hold = standby.running, standby.hold
    ep, agent_id, vm = running.endpoint, running.agent.agent_id, running.vm
    assert vm.host.channel_socket is not None
    shell = await asyncio.to_thread(GuestShell.connect, vm.host.channel_socket, within=120)
    with shell:
        unit_before = await asyncio.to_thread(shell.check, SHOW_AGENT_UNIT)
        task_id = uuid.uuid4().hex
        params = {"task_id": task_id, "images": [standby.images.gz], "root_device": INSTALL_DISK}
        started = await ep.call(agent_id, "standbye.cache_images", params)
        assert started["state"] == "running", started
        assert await asyncio.to_thread(hold.reached.wait, 300), "the agent never started the download"
        link_before, mark = agent_info(ep, agent_id), vm.console.mark()
        await asyncio.to_thread(shell.check, "systemctl kill --signal=SIGKILL teeth-agent.service")
        again = await await_new_link(ep, vm, link_before, within=180, start=mark)
        final = await ep.run_task(agent_id, "standbye.cache_images", params, timeout=TASK_WITHIN_S)
        unit_after = await asyncio.to_thread(shell.check, SHOW_AGENT_UNIT)
    hold.release()
    assert final["state"] == "error" and final["error"]["type"] == "interrupted", final
    assert [t.task_id for t in ep.tasks(agent_id)].count(task_id) == 1
    assert again.boot_id == running.agent.boot_id  # the agent restarted; the machine did not reboot
    assert "NRestarts=0" in unit_before and "NRestarts=1" in unit_after, (unit_before, unit_after)
    assert _main_pid(unit_before) != _main_pid(unit_after)


def _main_pid(shown: str) -> str:
    return next(line for line in shown.splitlines() if line.startswith("MainPID="))


async def test_cache_images_fetches_both_formats(standby: Standby) -> None:
    images = [standby.images.gz, standby.images.qcow2]
    directory = standby.images.gz_path.parent
    served = {image["id"]: directory / image["urls"][0].rsplit("/", 1)[-1] for image in images}
    # Hints name the install disk: unhinted, the agent wants >= 4 GiB for it; the cache goes elsewhere.
    params = {"images": images, "root_device": INSTALL_DISK}
    final = await run(standby.running, "standbye.cache_images", params)
    result = final["result"]
    cached = {c["id"]: c for c in result["cached"]}
    assert result["skipped"] == [] and set(cached) == set(served), result
    for image_id, path in served.items():  # stored as served (still compressed), on the cache disk
        assert cached[image_id]["location"] == "cache_disk", result
        assert cached[image_id]["size"] == path.stat().st_size, result
    # The index the agent keeps in the guest holds both, where the result says they are.
    vm = standby.running.vm
    assert vm.host.channel_socket is not None
    with await asyncio.to_thread(GuestShell.connect, vm.host.channel_socket, within=120) as shell:
        text = await asyncio.to_thread(shell.check, f"cat {GUEST_CACHE_INDEX}")
    entries = {e["id"]: e for e in json.loads(text)["entries"]}
    assert set(entries) == set(served), text
    for image_id, image in zip(served, images, strict=True):
        entry = entries[image_id]
        assert (entry["offset"], entry["length"]) == (cached[image_id]["offset"], cached[image_id]["size"])
        assert entry["hashes"] == image["hashes"] and entry["disk_format"] == image["disk_format"]


async def test_prepare_image_from_a_qcow2_image_writes_exactly_the_image(standby: Standby) -> None:
    # First: run_image below uses the image prepared last, the gz one.
    images, vm = standby.images, standby.running
    await run(vm, "standbye.prepare_image", {"image": images.qcow2, "root_device": QCOW2_DISK})
    assert diskcheck.holds_image(vm.vm.host.disk_images["sata"], images.raw), "qcow2 image not on SATA"


async def test_prepare_image_from_a_compressed_image_writes_exactly_the_image(standby: Standby) -> None:
    images, vm = standby.images, standby.running
    await run(vm, "standbye.prepare_image", {"image": images.gz, "root_device": INSTALL_DISK})
    assert diskcheck.holds_image(vm.vm.host.disk_images["virtio"], images.raw), "gz image not on virtio"


async def test_run_image_kexecs_into_the_tenant(standby: Standby) -> None:
    vm, instance = standby.running, str(uuid.uuid4())
    mark = vm.vm.console.mark()
    final = await run(vm, "standbye.run_image", {
        "image_id": standby.images.gz["id"], "configdrive": {"meta_data": {"uuid": instance}}})
    assert final["result"]["action"] == "kexec", final["result"]
    assert tenant_files.BOOT_MARKER not in vm.vm.console.read(mark)  # complete came first
    await vm.vm.await_for(tenant_files.BOOT_MARKER, within=TENANT_WITHIN_S, what="tenant after kexec",
                          start=mark)
    found = await vm.vm.await_for(tenant_files.UUID_PREFIX + r"(\S+)", within=60, what="uuid", start=mark)
    assert found.group(1) == instance


async def test_run_image_without_kexec_reboots_into_the_tenant_from_disk(standby: Standby) -> None:
    running, instance = standby.running, str(uuid.uuid4())
    vm, old_boot = running.vm, running.agent.boot_id
    await vm.await_for(tenant_files.DONE_MARKER, within=TENANT_WITHIN_S, what="tenant done")
    vm.wait_stopped(within=60)  # the kexec'd tenant powered off
    mark = vm.restart()  # the ramdisk again, as the operator's BMC would boot it
    agent = await await_agent(running.endpoint, vm, running.agent.agent_id, not_boot=old_boot, start=mark)
    again = dataclasses.replace(running, agent=agent)
    await run(again, "standbye.prepare_image", {"image": standby.images.gz, "root_device": INSTALL_DISK})
    final = await run(again, "standbye.run_image", {
        "image_id": standby.images.gz["id"], "kexec": "never",
        "configdrive": {"meta_data": {"uuid": instance}}})
    assert final["result"]["action"] == "reboot", final["result"]
    vm.wait_stopped(within=120)  # on_reboot=destroy: the guest's reboot stops the VM
    mark = vm.restart(DiskBoot("virtio"))
    await vm.await_for("grub: loading teeth tenant", within=TENANT_WITHIN_S, what="grub", start=mark)
    found = await vm.await_for(tenant_files.UUID_PREFIX + r"(\S+)", within=TENANT_WITHIN_S,
                               what="uuid after reboot", start=mark)
    assert found.group(1) == instance
