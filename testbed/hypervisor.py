"""The libvirt connection: the embedded QEMU driver by default, `qemu:///system` when asked.

The embedded driver (`qemu:///embed?root=DIR`) runs inside this process: no libvirtd, virtlogd or
systemd, which suits CI and laptops. It needs DIR/etc/qemu.conf (written here), an event loop
registered before the connection opens, and the system user libvirt-qemu to exist (libvirt resolves
its compiled-in default user before reading qemu.conf; `make testbed-host` creates it). A process can
open only one embedded root in its life (libvirt keeps the driver): share one connection.
Every libvirt failure leaves this module as a HypervisorError that says what to do about it.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from testbed import tools

SYSTEM_URI = "qemu:///system"
QEMU_CONF = """# written by the teeth testbed: the embedded driver runs QEMU as root with no confinement
security_driver = "none"
user = "root"
group = "root"
stdio_handler = "file"
# guestfwd's cmd: spawns a relay per guest connection; libvirt's default seccomp filter (spawn=deny)
# would kill QEMU at the first one. qemu:///system users need the same line in their qemu.conf.
seccomp_sandbox = 0
"""


class HypervisorError(RuntimeError):
    """libvirt or QEMU is missing or refused; the message says what to install or check."""


# How long libvirt may take to forget a domain that has stopped.
REMOVAL_WAIT_S = 30.0

def embed_uri(root: Path) -> str:
    return f"qemu:///embed?root={root.resolve()}"


def libvirt_module() -> ModuleType:
    try:
        import libvirt
    except ImportError as exc:
        raise HypervisorError(
            "libvirt-python is not installed: run `.venv/bin/pip install libvirt-python` after installing "
            "libvirt-dev and pkg-config (deps/apt-testbed.txt), or `make setup`") from exc
    module: ModuleType = libvirt
    return module


@functools.cache
def _event_loop(libvirt: ModuleType) -> threading.Thread:
    """libvirt's default event loop, once per process (libvirt itself allows only one)."""
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
    thread.start()
    return thread


@dataclass
class Hypervisor:
    """An open connection; domains are transient (created running, gone once destroyed)."""

    uri: str
    conn: Any
    libvirt: ModuleType

    def start(self, xml: str) -> Any:
        """Create and start a transient domain."""
        try:
            return self.conn.createXML(xml, 0)
        except self.libvirt.libvirtError as exc:
            raise HypervisorError(f"{self.uri}: could not start the domain: {exc}") from exc

    def lookup(self, name: str) -> Any | None:
        try:
            return self.conn.lookupByName(name)
        except self.libvirt.libvirtError:
            return None

    def is_running(self, name: str) -> bool:
        dom = self.lookup(name)
        try:
            return bool(dom is not None and dom.isActive())
        except self.libvirt.libvirtError:
            return False  # it stopped between the lookup and the question

    def destroy(self, name: str) -> bool:
        """Stop a domain if it runs (and forget it if it was defined); True if there was one."""
        dom = self.lookup(name)
        if dom is None:
            return False
        try:
            if dom.isActive():
                dom.destroy()
            if dom.isPersistent():
                dom.undefine()
        except self.libvirt.libvirtError as exc:
            if self.is_running(name):  # not merely a domain that stopped on its own meanwhile
                raise HypervisorError(f"{self.uri}: could not destroy domain {name}: {exc}") from exc
        self._wait_gone(name)
        return True

    def _wait_gone(self, name: str, within: float = REMOVAL_WAIT_S) -> None:
        """libvirt tears a stopped transient domain down after the fact; a new domain of the same name
        started before that ends is refused ("already being removed"), so wait until it is gone."""
        deadline = time.monotonic() + within
        while self.lookup(name) is not None:
            if time.monotonic() >= deadline:
                raise HypervisorError(f"{self.uri}: domain {name} lingers {within:.0f} s after it stopped")
            time.sleep(0.1)

    def qemu_owner(self) -> tuple[int, int] | None:
        """The uid:gid QEMU runs as on this connection (libvirt's DAC base label), if it says."""
        try:
            return dac_owner(self.conn.getCapabilities())
        except self.libvirt.libvirtError:
            return None

    def domain_names(self) -> list[str]:
        return sorted(d.name() for d in self.conn.listAllDomains())

    def destroy_all(self) -> list[str]:
        """Destroy every domain on this connection (the embedded driver has no autodestroy)."""
        names = self.domain_names()
        for name in names:
            self.destroy(name)
        return names


def dac_owner(capabilities_xml: str) -> tuple[int, int] | None:
    """Pure: from libvirt's host capabilities, the uid:gid of the DAC base label for QEMU guests
    (`<baselabel type='qemu'>+999:+995</baselabel>`), or None without a DAC security model."""
    root = ET.fromstring(capabilities_xml)
    for model in root.iterfind("./host/secmodel"):
        if model.findtext("model") != "dac":
            continue
        for label in model.iterfind("baselabel"):
            if label.get("type") in ("qemu", "kvm") and label.text:
                uid, _, gid = label.text.strip().partition(":")
                try:
                    return int(uid.lstrip("+")), int(gid.lstrip("+"))
                except ValueError:
                    return None
    return None


def write_embed_config(root: Path) -> None:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "qemu.conf").write_text(QEMU_CONF)


@contextmanager
def connect(*, embed_root: Path | None = None, uri: str | None = None,
            destroy_on_close: bool = False) -> Iterator[Hypervisor]:
    """Open the embedded driver rooted at embed_root, or the given uri (e.g. qemu:///system).

    destroy_on_close stands in for libvirt's autodestroy, which the embedded driver lacks: tests set
    it so no VM outlives the test session, whatever happened in it.
    """
    if (embed_root is None) == (uri is None):
        raise ValueError("connect: give exactly one of embed_root and uri")
    tools.require("qemu-system-x86_64")
    if embed_root is not None:
        write_embed_config(embed_root)
    # The embedded driver logs at info level to stderr unless told otherwise (read once, at libvirt's
    # first use); errors reach us as exceptions anyway. setdefault keeps a developer's own setting.
    log = f"file:{embed_root.resolve()}/libvirt.log" if embed_root else "stderr"
    os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", f"3:{log}")
    libvirt = libvirt_module()
    libvirt.registerErrorHandler(_ignore_error, None)
    _event_loop(libvirt)
    if embed_root is not None:
        uri = embed_uri(embed_root)
    assert uri is not None
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise HypervisorError(_open_hint(uri, str(exc))) from exc
    hv = Hypervisor(uri, conn, libvirt)
    try:
        yield hv
    finally:
        try:
            if destroy_on_close:
                hv.destroy_all()
        finally:
            conn.close()


def _ignore_error(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr by default; ours arrive as exceptions instead."""


def _open_hint(uri: str, error: str) -> str:
    hint = ""
    if "already open with path" in error:
        hint = (" (libvirt allows one embedded root per process, for the life of the process: "
                "share one connection, e.g. the tests' session fixture)")
    elif "libvirt-qemu" in error:
        hint = " (create the system user: `make testbed-host`, or useradd --system libvirt-qemu)"
    elif "embed" in uri and "driver" in error.lower():
        hint = " (install Debian package libvirt-daemon-driver-qemu)"
    elif uri == SYSTEM_URI:
        hint = " (is libvirtd running? the embedded driver needs no daemon: leave out --system)"
    return f"could not open libvirt connection {uri}: {error}{hint}"
