"""The agent's second transport end to end: a ramdisk VM whose agent dials its virtio-serial port
(`teeth.endpoint=/dev/virtio-ports/...`) instead of TCP; the host end is the port's unix socket, handed
to the reference endpoint. Handshake, `status` and `decom.qc` with the VM's spec go over it."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from testbed import scenarios
from testbed.agent_vm import AgentVm, ramdisk_agent
from testbed.expect import qc_spec
from testbed.harness import drop_connections
from testbed.ramdisk import RamdiskArtifacts
from testbed.session import Session
from testbed.spec import VmSpec

pytestmark = [pytest.mark.testbed, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def channel_vm(testbed_session: Session, ramdisk: RamdiskArtifacts) -> AsyncIterator[AgentVm]:
    def make_spec(port: int) -> VmSpec:
        return scenarios.ramdisk_spec("serial-0", ramdisk.kernel, ramdisk.initramfs, port, over_channel=True)

    async with ramdisk_agent(testbed_session.testbed, make_spec) as running:
        yield running


async def test_the_agent_connects_over_its_virtio_serial_port(channel_vm: AgentVm) -> None:
    ep, agent_id = channel_vm.endpoint, channel_vm.agent.agent_id
    assert drop_connections(channel_vm.vm.spec.forwards[0].host_port) == 0  # no TCP link was ever made
    status = await ep.call(agent_id, "status", timeout=120)
    assert status["agent_id"] == agent_id and status["backend"] == "linux"


async def test_qc_over_the_serial_link(channel_vm: AgentVm) -> None:
    final = await channel_vm.endpoint.run_task(channel_vm.agent.agent_id, "decom.qc",
                                               {"spec": qc_spec(channel_vm.vm.spec)}, timeout=600)
    assert final["state"] == "complete" and final["result"]["passed"], final
