"""The agent's second transport end to end: a ramdisk VM whose agent dials its virtio-serial port
(`teeth.endpoint=/dev/virtio-ports/...`) instead of TCP; the host end is the port's unix socket, handed
to the reference endpoint. Handshake, `status` and `decom.qc` with the VM's spec go over it, and an agent
killed inside the guest comes back over it to a fresh session."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from testbed import scenarios
from testbed.agent_vm import AgentVm, agent_info, await_new_link, ramdisk_agent
from testbed.expect import qc_spec
from testbed.guest_shell import GuestShell
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


async def test_an_agent_restarted_behind_the_serial_port_meets_a_fresh_session(channel_vm: AgentVm) -> None:
    # The port's stream does not end when the agent dies: the restarted agent must not inherit the old
    # session (replies meant for its predecessor, a handshake the endpoint thinks is done).
    ep, vm = channel_vm.endpoint, channel_vm.vm
    assert vm.host.channel_socket is not None
    before, mark = agent_info(ep, channel_vm.agent.agent_id), vm.console.mark()
    with GuestShell.connect(vm.host.channel_socket, within=60) as shell:
        shell.check("systemctl kill --signal=SIGKILL teeth-agent.service")
    again = await await_new_link(ep, vm, before, within=180, start=mark)
    assert again.boot_id == before.boot_id  # the same boot: the agent restarted, the VM did not
    status = await ep.call(again.agent_id, "status", timeout=120)
    assert status["agent_id"] == again.agent_id
    # Expected on the way: the old session refuses the new handshake and ends, the agent dials again.
    # Not expected: a reply meant for the dead agent (a protocol violation), or a crash.
    agent_lines = [line for line in vm.console.read(mark).splitlines() if "teeth-agent[" in line]
    bad = ("Traceback", "protocol violation", "failed unexpectedly")
    assert not [line for line in agent_lines if any(b in line for b in bad)], agent_lines
