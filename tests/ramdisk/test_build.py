"""Build the ramdisk (or reuse the cached build) and look inside it.

Needs root, loop devices and the Debian mirror; the first run in a fresh checkout takes a few minutes,
later runs reuse .cache/ramdisk/ while elements/ and teeth_agent/ are unchanged.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from teeth_agent.backend.linux.required_tools import REQUIRED_TOOLS
from testbed.ramdisk import RamdiskArtifacts, RamdiskConfig, build_ramdisk
from testbed.ramdisk.contents import find_tool, kernel_modules, resolve_in_root, unpack
from testbed.ramdisk.inputs import checksums_match

pytestmark = pytest.mark.ramdisk

REPO = Path(__file__).resolve().parents[2]
BUDGET_BYTES = 150 * 1024 * 1024
# Block and network drivers for the testbed's VMs and common servers, and the filesystems the flows use.
NEEDED_MODULES = {
    "ahci", "nvme", "virtio_blk", "virtio_scsi", "sd_mod", "virtio_net", "e1000", "e1000e", "loop",
    "vfat", "isofs", "ext4", "virtio_console", "virtio_pci", "igb", "ixgbe", "mlx5_core", "megaraid_sas",
    "mpt3sas", "md_mod", "raid1", "dm_mod", "efivarfs", "usb_storage",
}


@pytest.fixture(scope="session")
def ramdisk() -> RamdiskArtifacts:
    return build_ramdisk(RamdiskConfig.from_env(REPO, os.environ))


@pytest.fixture(scope="session")
def root(ramdisk: RamdiskArtifacts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tree = tmp_path_factory.mktemp("ramdisk-root")
    unpack(ramdisk.initramfs, tree)
    yield tree
    subprocess.run(["rm", "-rf", "--one-file-system", str(tree)], check=False)


def test_initramfs_is_within_the_size_budget(ramdisk: RamdiskArtifacts) -> None:
    size = ramdisk.initramfs.stat().st_size
    assert size == ramdisk.record.initramfs_bytes
    assert size <= BUDGET_BYTES, f"initramfs is {size / 2**20:.1f} MiB, budget {BUDGET_BYTES / 2**20:.0f} MiB"


def test_checksum_file_covers_kernel_and_initramfs(ramdisk: RamdiskArtifacts) -> None:
    names = {line.split()[1] for line in ramdisk.sha256.read_text().splitlines()}
    assert names == {ramdisk.kernel.name, ramdisk.initramfs.name}
    assert checksums_match(ramdisk.sha256)


def test_kernel_is_a_bootable_x86_image(ramdisk: RamdiskArtifacts) -> None:
    header = ramdisk.kernel.read_bytes()[:0x210]
    assert header[0x202:0x206] == b"HdrS", "not a Linux boot-protocol kernel image"


def test_init_is_systemd(root: Path) -> None:
    assert resolve_in_root(root, "/init") in {
        PurePosixPath("/usr/lib/systemd/systemd"), PurePosixPath("/lib/systemd/systemd")
    }
    assert not (root / "etc" / "initrd-release").exists(), "systemd would treat the ramdisk as an initrd"


def test_agent_imports_with_the_ramdisks_python(root: Path) -> None:
    done = subprocess.run(
        ["chroot", str(root), "/opt/teeth-agent/bin/python", "-c",
         "import teeth_agent, zstandard; print(teeth_agent.__file__)"],
        capture_output=True, text=True, check=False, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("/opt/teeth-agent/lib/python3")
    launcher = resolve_in_root(root, "/usr/local/bin/teeth-agent")
    assert launcher == PurePosixPath("/opt/teeth-agent/bin/teeth-agent")


def test_venv_carries_no_pip_and_no_scripts_for_missing_packages(root: Path) -> None:
    venv = root / "opt" / "teeth-agent"
    assert not list(venv.glob("lib/python3*/site-packages/pip")), "pip is dead weight at run time"
    scripts = {path.name for path in (venv / "bin").glob("teeth-*")}
    assert "teeth-agent" in scripts
    assert not scripts & {"teeth-sim", "teeth-testbed"}, "simulator/testbed are not in the ramdisk"


def test_every_tool_the_linux_backend_calls_is_present(root: Path) -> None:
    missing = sorted(tool for tool in REQUIRED_TOOLS if find_tool(root, tool) is None)
    assert not missing, f"not in the ramdisk: {missing}"


def test_grub_can_install_for_bios_and_uefi(root: Path) -> None:
    for platform in ("i386-pc", "x86_64-efi"):
        assert (root / "usr" / "lib" / "grub" / platform / "normal.mod").is_file(), platform


@pytest.mark.parametrize(
    ("wants", "unit"),
    [
        ("multi-user.target.wants", "teeth-agent.service"),
        ("multi-user.target.wants", "systemd-networkd.service"),
        ("multi-user.target.wants", "teeth-netconfig.service"),
        ("getty.target.wants", "serial-getty@ttyS0.service"),
    ],
)
def test_boot_units_are_enabled(root: Path, wants: str, unit: str) -> None:
    assert resolve_in_root(root, f"/etc/systemd/system/{wants}/{unit}") is not None, f"{unit} not enabled"


def test_needed_kernel_modules_are_kept(root: Path) -> None:
    per_kernel = kernel_modules(root)
    assert len(per_kernel) == 1, f"expected one kernel's modules, found {sorted(per_kernel)}"
    (available,) = per_kernel.values()
    assert not NEEDED_MODULES - available, f"missing modules: {sorted(NEEDED_MODULES - available)}"
    assert "amdgpu" not in available and "iwlwifi" not in available, "pruned module trees came back"


def test_docs_caches_and_the_boot_directory_are_left_out(root: Path) -> None:
    for directory in ("usr/share/man", "usr/share/info", "var/cache", "boot", "var/lib/apt/lists"):
        path = root / directory
        assert not path.exists() or not any(path.iterdir()), f"/{directory} is not empty"
    assert not list((root / "usr" / "share" / "doc").rglob("README*"))
    assert not [line for line in (root / "etc" / "fstab").read_text().splitlines()
                if line.strip() and not line.startswith("#")]


def test_no_endpoint_module_ships_in_the_ramdisk(root: Path) -> None:
    site = next((root / "opt" / "teeth-agent").glob("lib/python3*/site-packages"))
    assert (site / "teeth_agent").is_dir()
    assert not (site / "teeth_endpoint").exists() and not (site / "teeth_agent" / "endpoint").exists()


def test_the_network_planner_and_networkd_are_in_the_ramdisk(root: Path) -> None:
    assert resolve_in_root(root, "/opt/teeth-agent/bin/teeth-agent-netconfig") is not None
    assert resolve_in_root(root, "/lib/systemd/systemd-networkd") is not None
    assert resolve_in_root(root, "/lib/systemd/systemd-networkd-wait-online") is not None


@pytest.mark.parametrize(("driver", "example"), [("ice", "intel/ice/ddp/ice.pkg"), ("bnx2x", "bnx2x/")])
def test_nic_firmware_is_kept_for_the_drivers_that_load_it(
    root: Path, ramdisk: RamdiskArtifacts, driver: str, example: str
) -> None:
    kept = ramdisk.record.firmware["drivers"][driver]["kept"]
    assert any(name.startswith(example) for name in kept), kept
    for name in kept:
        assert resolve_in_root(root, f"/lib/firmware/{name}") is not None, name


def test_firmware_no_listed_driver_loads_is_pruned(root: Path, ramdisk: RamdiskArtifacts) -> None:
    kept = {name for d in ramdisk.record.firmware["drivers"].values() for name in d["kept"]}
    on_disk = [p for p in (root / "lib" / "firmware").rglob("*") if p.is_file() and not p.is_symlink()]
    assert on_disk, "no firmware at all"
    # firmware-misc-nonfree alone ships hundreds of files (GPUs, DSPs, radios); what is left is the drivers'.
    assert len(on_disk) <= 3 * max(len(kept), 1), len(on_disk)


def test_the_iso_boots_bios_and_uefi(ramdisk: RamdiskArtifacts) -> None:
    from testbed.ramdisk.iso import IsoContents, build_iso, el_torito_platforms

    iso = ramdisk.kernel.parent / "teeth-agent.iso"
    if not iso.is_file():  # built by `make ramdisk`; a bare build_ramdisk() leaves it to this test
        build_iso(ramdisk.kernel, ramdisk.initramfs, iso, IsoContents())
    assert el_torito_platforms(iso) == {"BIOS", "UEFI"}
