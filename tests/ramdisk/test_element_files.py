"""The DIB elements are well formed: scripts parse, YAML loads, every tool the backend calls is installed."""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from teeth_agent.backend.linux.required_tools import REQUIRED_TOOLS

REPO = Path(__file__).resolve().parents[2]
ELEMENTS = REPO / "elements"
OURS = ("teeth-agent", "teeth-agent-base")
HOOK_DIRS = ("extra-data.d", "pre-install.d", "install.d", "post-install.d", "cleanup.d", "root.d",
             "block-device.d", "finalise.d", "environment.d")


def _hook_files() -> list[Path]:
    return sorted(
        path
        for element in OURS
        for hook_dir in HOOK_DIRS
        for path in (ELEMENTS / element / hook_dir).glob("*")
        if path.is_file()
    )


def _package_installs() -> dict[str, object]:
    # Imported by name: PyYAML ships no type stubs, and this keeps mypy strict without an ignore.
    text = (ELEMENTS / "teeth-agent-base" / "package-installs.yaml").read_text()
    loaded = importlib.import_module("yaml").safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ELEMENTS / "teeth-agent-base" / "static" / "etc" / "systemd" / "system" / name)
    return parser


def test_there_are_hook_scripts_to_check() -> None:
    names = {path.name for path in _hook_files()}
    assert {"60-teeth-agent-install", "99-teeth-agent-ramdisk", "50-teeth-agent-wheels"} <= names


@pytest.mark.parametrize("script", _hook_files(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_hook_script_parses_with_bash_n(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("script", _hook_files(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_hook_script_is_executable_and_strict(script: Path) -> None:
    if script.parent.name == "environment.d":
        # Sourced, not run: they must not change the shell options of the caller.
        assert "set -e" not in script.read_text()
        return
    text = script.read_text()
    assert os.access(script, os.X_OK), f"DIB skips {script.name}: it is not executable"
    assert text.startswith("#!/bin/bash\n")
    assert "set -eu" in text and "set -o pipefail" in text


def test_package_installs_yaml_loads_with_known_keys() -> None:
    allowed = {"phase", "uninstall", "installtype", "arch", "not-arch", "build-only", "when",
               "dib_python_version"}
    for package, options in _package_installs().items():
        assert isinstance(package, str) and package
        assert options is None or (isinstance(options, dict) and set(options) <= allowed), package


def test_every_package_the_linux_backend_needs_is_installed() -> None:
    installed = {name for name, options in _package_installs().items() if not _removed(options)}
    missing = {tool: pkg for tool, pkg in REQUIRED_TOOLS.items() if pkg not in installed}
    assert not missing, f"add these packages to package-installs.yaml: {missing}"


def _removed(options: object) -> bool:
    return isinstance(options, dict) and bool(options.get("uninstall") or options.get("build-only"))


def test_element_deps_name_elements_that_exist() -> None:
    spec = importlib.util.find_spec("diskimage_builder")
    assert spec is not None and spec.origin is not None, "diskimage-builder is not installed in the venv"
    dib_elements = Path(spec.origin).parent / "elements"
    for element in OURS:
        for dep in (ELEMENTS / element / "element-deps").read_text().split():
            assert (ELEMENTS / dep).is_dir() or (dib_elements / dep).is_dir(), f"{element} needs {dep}"
    assert "debian-minimal" in (ELEMENTS / "teeth-agent" / "element-deps").read_text().split()


def test_agent_unit_restarts_and_waits_for_network_and_udev() -> None:
    unit = _unit("teeth-agent.service")
    assert unit["Service"]["Restart"] == "always"
    assert "network-online.target" in unit["Unit"]["After"].split()
    assert "network-online.target" in unit["Unit"]["Wants"].split()
    assert "udevadm settle" in unit["Service"]["ExecStartPre"]
    assert unit["Service"]["ExecStart"].split()[:3] == [
        "/opt/teeth-agent/bin/teeth-agent", "--backend", "linux"
    ]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_agent_unit_runs_the_venv_the_install_hook_makes() -> None:
    install = (ELEMENTS / "teeth-agent-base" / "install.d" / "60-teeth-agent-install").read_text()
    venv = _unit("teeth-agent.service")["Service"]["ExecStart"].split()[0].rsplit("/bin/", 1)[0]
    assert f"VENV={venv}\n" in install


def test_wired_interfaces_get_dhcp() -> None:
    network = configparser.ConfigParser(interpolation=None)
    network.read(ELEMENTS / "teeth-agent-base" / "static" / "etc" / "systemd" / "network"
                 / "80-teeth-wired-dhcp.network")
    assert network["Match"]["Type"] == "ether"
    assert network["Network"]["DHCP"] == "yes"


def test_the_network_plan_is_written_before_networkd_starts_and_online_waits_for_it() -> None:
    unit = _unit("teeth-netconfig.service")
    assert "systemd-networkd.service" in unit["Unit"]["Before"].split()
    argv = unit["Service"]["ExecStart"].split()
    assert argv == ["/opt/teeth-agent/bin/teeth-agent-netconfig", "apply"]
    scripts = tomllib.loads((ELEMENTS.parent / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["teeth-agent-netconfig"] == "teeth_agent.netconfig.program:main"
    drop_in = configparser.ConfigParser(interpolation=None, strict=False)
    drop_in.read(ELEMENTS / "teeth-agent-base" / "static" / "etc" / "systemd" / "system"
                 / "systemd-networkd-wait-online.service.d" / "teeth-any.conf")
    assert drop_in["Service"]["ExecStart"].strip().splitlines()[-1].split()[:2] == [
        "/opt/teeth-agent/bin/teeth-agent-netconfig", "wait"]
    assert "teeth-netconfig.service" in drop_in["Unit"]["After"]
