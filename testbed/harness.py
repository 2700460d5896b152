"""Running testbed VMs: disk image files, console logs and sockets around a VmSpec, and cleanup.

`Testbed.vm(spec)` is a context manager: the VM and every file it made (disks, sockets) are gone when
the block ends, however it ends. Console logs are kept in `Layout.logs` on purpose, so the path a
failure message names still exists when someone reads it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from testbed import domain_xml, relay
from testbed.console import Console
from testbed.domain_xml import HostSide
from testbed.hypervisor import Hypervisor, HypervisorError
from testbed.spec import Bus, DiskBoot, DomainType, KernelBoot, SpecError, VmSpec

# Fixed addresses the guest dials; the host ports behind them are whatever the services got.
GUEST_ENDPOINT = ("10.0.2.100", 9999)
GUEST_IMAGE_SERVER = ("10.0.2.101", 8080)
SOCKET_PATH_MAX = 107  # sun_path


@dataclass(frozen=True)
class Layout:
    """Where a testbed keeps its files: `root` for disks and sockets, `logs` for console logs."""

    root: Path
    logs: Path

    def vm_dir(self, name: str) -> Path:
        return self.root / "vms" / name

    def console_log(self, name: str) -> Path:
        return self.logs / f"{name}-console.log"

    def channel_socket(self, name: str) -> Path:
        return self._socket(name, "channel.sock")

    def agent_socket(self, name: str) -> Path:
        return self._socket(name, "agent.sock")

    def _socket(self, name: str, leaf: str) -> Path:
        path = self.vm_dir(name) / leaf
        if len(str(path)) > SOCKET_PATH_MAX:
            raise SpecError(f"socket path {path} is longer than {SOCKET_PATH_MAX} bytes: use a shorter root")
        return path


SYSTEM_PYTHON = Path("/usr/bin/python3")


def relay_argv() -> tuple[str, ...]:
    """QEMU runs the relay as its own user under a libvirt daemon, so the interpreter must be one any
    user can run (a venv's or pyenv's under /root is not); the relay needs only the standard library."""
    python = str(SYSTEM_PYTHON) if SYSTEM_PYTHON.is_file() else sys.executable
    return (python, str(Path(relay.__file__).resolve()))


@dataclass
class RunningVm:
    """A started VM; its spec changes only through `restart` (as a BMC would change the boot device)."""

    hv: Hypervisor
    spec: VmSpec
    host: HostSide
    console: Console

    def alive(self) -> bool:
        return self.hv.is_running(self.spec.name)

    def wait_for(self, pattern: str | re.Pattern[str], *, within: float, what: str,
                 start: int = 0) -> re.Match[str]:
        return self.console.wait_for(pattern, within=within, what=f"vm {self.spec.name}: {what}",
                                     start=start, alive=self.alive)

    async def await_for(self, pattern: str | re.Pattern[str], *, within: float, what: str,
                        start: int = 0) -> re.Match[str]:
        return await self.console.await_for(pattern, within=within, what=f"vm {self.spec.name}: {what}",
                                            start=start, alive=self.alive)

    def wait_stopped(self, *, within: float) -> None:
        deadline = time.monotonic() + within
        while self.alive():
            if time.monotonic() >= deadline:
                raise HypervisorError(f"vm {self.spec.name} still running after {within:.0f} s; "
                                      f"console log: {self.console.path}")
            time.sleep(0.25)

    def start(self) -> None:
        xml = domain_xml.render(self.spec, self.host)
        (self.host.console_log.parent).mkdir(parents=True, exist_ok=True)
        self.hv.start(xml)

    def restart(self, boot: KernelBoot | DiskBoot | None = None) -> int:
        """Power-cycle, optionally with a new boot source; returns the console mark for new output."""
        self.hv.destroy(self.spec.name)
        if boot is not None:
            self.spec = dataclasses.replace(self.spec, boot=boot)
        mark = self.console.mark()
        self.start()
        return mark

    def destroy(self) -> None:
        self.hv.destroy(self.spec.name)


@dataclass
class Testbed:
    hv: Hypervisor
    layout: Layout
    domain_type: DomainType

    def host_side(self, spec: VmSpec, domain_type: DomainType | None = None) -> HostSide:
        vm_dir = self.layout.vm_dir(spec.name)
        return HostSide(
            domain_type=domain_type or self.domain_type,
            disk_images={d.name: vm_dir / f"{d.name}.img" for d in spec.disks},
            console_log=self.layout.console_log(spec.name),
            channel_socket=self.layout.channel_socket(spec.name) if spec.channel_name else None,
            relay_argv=relay_argv(),
            agent_socket=self.layout.agent_socket(spec.name) if spec.agent_channel else None,
        )

    def launch(self, spec: VmSpec, seed: Mapping[str, Path] | None = None,
               domain_type: DomainType | None = None) -> RunningVm:
        """Create the VM's files and start it; the caller owns cleanup (see `vm` and `remove`)."""
        if self.hv.lookup(spec.name) is not None:
            raise HypervisorError(f"a domain named {spec.name} already exists on {self.hv.uri}")
        host = self.host_side(spec, domain_type)
        self.layout.vm_dir(spec.name).mkdir(parents=True, exist_ok=True)
        make_disks(spec, host, seed or {})
        self._hand_over_unmanaged_disks(spec, host)
        host.console_log.unlink(missing_ok=True)
        vm = RunningVm(self.hv, spec, host, Console(host.console_log))
        vm.start()
        return vm

    def _hand_over_unmanaged_disks(self, spec: VmSpec, host: HostSide) -> None:
        """libvirt gives its own disks to the user QEMU runs as (a daemon's libvirt-qemu), but not the
        NVMe images that reach QEMU through <qemu:commandline>: give those over here."""
        owner = self.hv.qemu_owner()
        if owner is None or owner == (os.geteuid(), os.getegid()):
            return
        for disk in spec.disks_on(Bus.NVME):
            os.chown(host.disk_images[disk.name], *owner)

    def remove(self, name: str) -> None:
        """Destroy the VM and delete its disks and sockets (its console log stays in layout.logs)."""
        self.hv.destroy(name)
        shutil.rmtree(self.layout.vm_dir(name), ignore_errors=True)

    @contextmanager
    def vm(self, spec: VmSpec, seed: Mapping[str, Path] | None = None,
           domain_type: DomainType | None = None) -> Iterator[RunningVm]:
        try:
            yield self.launch(spec, seed, domain_type)
        finally:
            self.remove(spec.name)


def make_disks(spec: VmSpec, host: HostSide, seed: Mapping[str, Path]) -> None:
    """Sparse image files of each disk's size; a seeded disk starts as a copy of its seed image."""
    unknown = sorted(set(seed) - {d.name for d in spec.disks})
    if unknown:
        raise SpecError(f"vm {spec.name}: seed images for unknown disks: {', '.join(unknown)}")
    for disk in spec.disks:
        path = host.disk_images[disk.name]
        source = seed.get(disk.name)
        if source is not None:
            if not source.is_file():
                raise FileNotFoundError(f"vm {spec.name}: seed for disk {disk.name} not found: {source}")
            if source.stat().st_size > disk.size_bytes:
                raise SpecError(f"vm {spec.name}: seed {source} is larger than disk {disk.name}")
            shutil.copyfile(source, path)
        with path.open("r+b" if source else "wb") as f:
            f.truncate(disk.size_bytes)


def relay_pids(processes: Mapping[int, list[str]], host_port: int) -> list[int]:
    """Pure: which of (pid -> argv) are guestfwd relays to 127.0.0.1:host_port."""
    relay_script = relay_argv()[-1]
    tail = [relay_script, "127.0.0.1", str(host_port)]
    return sorted(pid for pid, argv in processes.items() if argv[-3:] == tail)


def drop_connections(host_port: int) -> int:
    """Cut every guest connection forwarded to 127.0.0.1:host_port (a network fault, as the guest sees
    it) by killing their relays: processes QEMU spawned for this testbed, picked by their own pid."""
    processes: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # gone meanwhile
            processes[int(entry.name)] = [a.decode(errors="replace") for a in argv if a]
    pids = relay_pids(processes, host_port)
    for pid in pids:
        with suppress(ProcessLookupError):  # it may have ended on its own meanwhile
            os.kill(pid, signal.SIGKILL)
    return len(pids)
