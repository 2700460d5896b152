"""The DIB ramdisk in a VM, driven through the reference endpoint (teeth_endpoint.Endpoint).

The endpoint listens on 127.0.0.1 only; the VM reaches it as 10.0.2.100:9999 through guestfwd. The
agent names itself after the chassis serial, which the testbed sets through SMBIOS, so waiting for
that agent id also proves the SMBIOS strings reach the guest.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from teeth_endpoint.api import Endpoint
from teeth_endpoint.fleet import AgentView
from testbed.channel_link import channel_link
from testbed.console import tail
from testbed.harness import RunningVm, Testbed
from testbed.spec import VmSpec

AGENT_WITHIN_S = 420.0  # the DIB ramdisk reaches its agent in ~50 s under TCG; far slower when loaded
POLL_S = 2.0
class AgentWaitError(AssertionError):
    """The agent never connected (or cannot: the VM stopped, the agent crashed)."""


AGENT_LINE = re.compile(r"teeth-agent\[(\d+)\]: (Traceback)?")
TRACEBACK_SETTLE_S = 3.0  # the console gets a traceback line by line; let it finish before quoting it


def crash_report(console_text: str) -> str | None:
    """The agent's lines up to its death, if a traceback was followed by a new agent process (systemd
    restarted the service). A traceback alone is not a crash: the agent logs failed tasks with one."""
    traced: set[str] = set()
    for line in AGENT_LINE.finditer(console_text):
        pid = line.group(1)
        if traced and pid not in traced:
            dead = sorted(traced)[0]
            lines = [x for x in console_text.splitlines() if f"teeth-agent[{dead}]:" in x]
            return "\n".join(lines[-20:])
        if line.group(2):
            traced.add(pid)
    return None


async def agent_problem(vm: RunningVm, start: int = 0) -> str | None:
    """Why waiting for the agent is pointless: the VM is gone, or the agent's service crashed."""
    if not vm.alive():
        return "the VM stopped"
    if crash_report(vm.console.read(start)) is None:
        return None
    await asyncio.sleep(TRACEBACK_SETTLE_S)
    return f"the agent crashed:\n{crash_report(vm.console.read(start))}"


async def await_agent(ep: Endpoint, vm: RunningVm, agent_id: str, within: float = AGENT_WITHIN_S,
                      not_boot: str | None = None, start: int = 0) -> AgentView:
    """The agent once its handshake has passed (from a boot other than `not_boot`, when given);
    bounded, and early out if it cannot come. `start`: console offset where this boot began."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    what = f"vm {vm.spec.name}: agent {agent_id}"
    while True:
        if reason := await agent_problem(vm, start):
            raise AgentWaitError(f"{what}: {reason}\nconsole log: {vm.console.path}")
        left = deadline - loop.time()
        if left <= 0:
            raise AgentWaitError(f"{what}: no handshake within {within:.0f} s; console log: {vm.console.path}"
                                 f"\n--- last lines ---\n{tail(vm.console.read(start))}")
        try:
            agent = await ep.wait_for_agent(agent_id, timeout=min(POLL_S, left))
        except TimeoutError:
            continue
        if agent.boot_id != not_boot:
            return agent
        await asyncio.sleep(min(POLL_S, left))  # still the old boot's link, not yet seen closing


def agent_info(ep: Endpoint, agent_id: str) -> AgentView:
    info = next((a for a in ep.agents() if a.agent_id == agent_id), None)
    if info is None:
        raise AgentWaitError(f"the endpoint has never seen agent {agent_id}")
    return info


async def await_new_link(ep: Endpoint, vm: RunningVm, old: AgentView, within: float = 120.0,
                         start: int = 0) -> AgentView:
    """The agent once it has handshaken again since `old` (a later link, whatever the transport);
    bounded. `start`: the console offset from which a crash would count (an agent killed on purpose
    leaves no traceback)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    what = f"vm {vm.spec.name}: agent {old.agent_id}"
    while loop.time() < deadline:
        if reason := await agent_problem(vm, start):
            raise AgentWaitError(f"{what}: {reason}\nconsole log: {vm.console.path}")
        info = agent_info(ep, old.agent_id)
        if info.connected and info.since > old.since:
            return info
        await asyncio.sleep(0.5)
    raise AgentWaitError(f"{what} did not reconnect within {within:.0f} s; console log: {vm.console.path}")


@dataclass(frozen=True)
class AgentVm:
    vm: RunningVm
    agent: AgentView
    endpoint: Endpoint
    seconds_to_handshake: float


@asynccontextmanager
async def ramdisk_agent(testbed: Testbed, make_spec: Callable[[int], VmSpec],
                        seed: Mapping[str, Path] | None = None,
                        within: float = AGENT_WITHIN_S) -> AsyncIterator[AgentVm]:
    """An endpoint on 127.0.0.1, a ramdisk VM dialling it, and the agent connected; all torn down after."""
    async with Endpoint() as ep:
        url = await ep.listen("tcp://127.0.0.1:0")
        spec = make_spec(int(url.rsplit(":", 1)[1]))  # the VM is built around the endpoint's port
        with testbed.vm(spec, seed=seed) as vm:
            async with AsyncExitStack() as stack:
                if vm.host.agent_socket is not None:  # the agent dials its virtio-serial port instead
                    await stack.enter_async_context(channel_link(ep, vm.host.agent_socket))
                started = time.monotonic()
                agent = await await_agent(ep, vm, spec.smbios.system_serial, within)
                yield AgentVm(vm, agent, ep, time.monotonic() - started)
