"""Decommission end to end: one ramdisk VM (SATA, virtio and 4K NVMe disks, each pre-filled from the
host with a pattern), driven through the reference endpoint over TCP. The ramdisk has no failed
systemd unit and the agent runs (seen through the guest shell). QC with the VM's own spec
passes and with a wrong one fails naming the component; the erase leaves no pattern the host can find;
a connection dropped while a task runs still delivers its final status, once."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from testbed import diskcheck, scenarios
from testbed.agent_vm import AgentVm, agent_info, await_new_link, ramdisk_agent
from testbed.expect import qc_spec
from testbed.guest_shell import GuestShell
from testbed.harness import drop_connections
from testbed.ramdisk import RamdiskArtifacts
from testbed.session import Session
from testbed.spec import VmSpec

pytestmark = [pytest.mark.testbed, pytest.mark.asyncio(loop_scope="module")]
PATTERN = b"TEETH-E2E-PATTERN-" + bytes(range(256)) + b"-" * 238  # 512 bytes
TASK_WITHIN_S = 900.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def decom_vm(testbed_session: Session, ramdisk: RamdiskArtifacts,
                   tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AgentVm]:
    patterned = tmp_path_factory.mktemp("decom") / "pattern.img"
    with patterned.open("wb") as f:
        f.truncate(scenarios.RAMDISK_DISK_BYTES)
    diskcheck.fill(patterned, PATTERN)

    def make_spec(port: int) -> VmSpec:
        return scenarios.ramdisk_spec("decom-0", ramdisk.kernel, ramdisk.initramfs, port)

    seed = dict.fromkeys(("sata", "virtio", "nvme"), patterned)
    async with ramdisk_agent(testbed_session.testbed, make_spec, seed=seed) as running:
        yield running


async def run(vm: AgentVm, method: str, params: dict[str, Any]) -> dict[str, Any]:
    final = await vm.endpoint.run_task(vm.agent.agent_id, method, params, timeout=TASK_WITHIN_S)
    assert final["state"] == "complete", f"{method} ended {final}; console log: {vm.vm.console.path}"
    result: dict[str, Any] = final["result"]
    return result


def _ramdisk_health(socket_path: Path) -> dict[str, str]:
    with GuestShell.connect(socket_path, within=120) as shell:
        return {"failed": shell.check("systemctl list-units --state=failed --no-legend --plain"),
                "agent": shell.run("systemctl is-active teeth-agent.service").output.strip(),
                "kexec-load": shell.run("systemctl is-enabled kexec-load.service").output.strip()}


async def test_the_ramdisk_runs_the_agent_with_no_failed_units(decom_vm: AgentVm) -> None:
    assert decom_vm.vm.host.channel_socket is not None
    health = await asyncio.to_thread(_ramdisk_health, decom_vm.vm.host.channel_socket)
    assert health["failed"] == "", health["failed"]
    assert health["agent"] == "active"
    assert health["kexec-load"] == "masked"  # the agent loads kernels itself; nothing else may


async def test_qc_passes_with_the_vms_own_spec(decom_vm: AgentVm) -> None:
    result = await run(decom_vm, "decom.qc", {"spec": qc_spec(decom_vm.vm.spec)})
    failed = [c for c in result["checks"] if not c["passed"]]
    assert result["passed"] and not failed, failed


async def test_qc_with_a_wrong_spec_fails_naming_the_component(decom_vm: AgentVm) -> None:
    spec = qc_spec(decom_vm.vm.spec)
    spec["system"]["product"] = "NOT-" + spec["system"]["product"]
    result = await run(decom_vm, "decom.qc", {"spec": spec})
    assert not result["passed"]
    assert [c["name"] for c in result["checks"] if not c["passed"]] == ["system.product"]


async def test_erase_leaves_no_pattern_on_any_disk(decom_vm: AgentVm) -> None:
    images = decom_vm.vm.host.disk_images
    assert all(diskcheck.survivors(path, PATTERN) for path in images.values())  # the pattern is there
    result = await run(decom_vm, "decom.disk_erase", {})
    methods = {c["device"]["serial"]: c["method"] for c in result["certificates"]}
    assert result["passed"], result["failed"]
    assert methods["TB-NVME-0"].startswith("nvme_"), methods  # NVMe by format, the others by fallback
    assert set(methods) == {"TB-SATA-0", "TB-VIRTIO-0", "TB-NVME-0"}
    left = [diskcheck.survivors(path, PATTERN) for path in images.values()]
    assert not any(left), [s.describe() for s in left]


async def test_a_dropped_connection_still_delivers_the_final_status_once(decom_vm: AgentVm) -> None:
    ep, agent_id = decom_vm.endpoint, decom_vm.agent.agent_id
    params = {"task_id": uuid.uuid4().hex, "verify": "full"}
    started = await ep.call(agent_id, "decom.disk_erase", params)
    assert started["state"] == "running", started
    before = agent_info(ep, agent_id)
    assert drop_connections(decom_vm.vm.spec.forwards[0].host_port) >= 1  # the guest's link is cut
    await await_new_link(ep, decom_vm.vm, before)
    final = await ep.run_task(agent_id, "decom.disk_erase", params, timeout=TASK_WITHIN_S)  # same task_id
    assert final["state"] == "complete" and final["result"]["passed"], final
    assert [t.task_id for t in ep.tasks(agent_id)].count(params["task_id"]) == 1
