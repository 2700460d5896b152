"""A machine that cannot build the ramdisk is told at once what is missing, before anything is mounted."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.ramdisk.config import RamdiskConfig, RamdiskError
from testbed.ramdisk.preflight import HOST_TOOLS, Host, check_host

REPO = Path(__file__).resolve().parents[2]
DIB = Path("/venv/bin/disk-image-create")


def _unreachable(url: str, timeout: float) -> None:
    raise OSError(f"connection refused: {url}")


def _reachable(url: str, timeout: float) -> None:
    return None


def make_host(
    *,
    euid: int = 0,
    missing: frozenset[str] = frozenset(),
    files: frozenset[str] = frozenset({"/dev/loop-control", str(DIB)}),
    sudo_ok: bool = False,
    free_loop: bool = True,
    fetch: object = _reachable,
) -> Host:
    """A machine described as a table: which programs and files exist, who we are, what answers."""
    return Host(
        euid=lambda: euid,
        which=lambda tool: None if tool in missing else f"/usr/bin/{tool}",
        exists=lambda path: path in files,
        passwordless_sudo=lambda: sudo_ok,
        free_loop_device=lambda: free_loop,
        fetch=fetch,  # type: ignore[arg-type]
    )


def problems(host: Host, config: RamdiskConfig | None = None) -> str:
    with pytest.raises(RamdiskError) as info:
        check_host(config or RamdiskConfig(repo=REPO, out_dir=REPO / ".cache" / "x"), host, DIB)
    return str(info.value)


def test_a_complete_machine_passes() -> None:
    check_host(RamdiskConfig(repo=REPO, out_dir=REPO / ".cache" / "x"), make_host(), DIB)


def test_not_root_without_sudo_says_how_to_fix_it() -> None:
    message = problems(make_host(euid=1000))
    assert "not root" in message and "passwordless sudo" in message


def test_not_root_with_passwordless_sudo_is_fine() -> None:
    config = RamdiskConfig(repo=REPO, out_dir=REPO / ".cache" / "x")
    check_host(config, make_host(euid=1000, sudo_ok=True), DIB)


def test_no_loop_driver_is_named() -> None:
    message = problems(make_host(files=frozenset({str(DIB)})))
    assert "no loop devices" in message and "modprobe loop" in message


def test_all_loop_devices_busy_is_named() -> None:
    assert "no free loop device" in problems(make_host(free_loop=False))


def test_unreachable_mirror_names_the_url_and_the_variable() -> None:
    config = RamdiskConfig(repo=REPO, out_dir=REPO / ".cache" / "x", mirror="http://127.0.0.1:9/debian")
    message = problems(make_host(fetch=_unreachable), config)
    assert "http://127.0.0.1:9/debian/dists/bookworm/Release" in message
    assert "DIB_DISTRIBUTION_MIRROR" in message and "DIB_DEBIAN_SECURITY_MIRROR" in message


def test_missing_tools_are_listed_with_the_packages_that_provide_them() -> None:
    message = problems(make_host(missing=frozenset({"debootstrap", "kpartx"})))
    assert "debootstrap, kpartx" in message
    assert f"apt-get install {HOST_TOOLS['debootstrap']} {HOST_TOOLS['kpartx']}" in message


def test_missing_disk_image_create_says_to_install_diskimage_builder() -> None:
    message = problems(make_host(files=frozenset({"/dev/loop-control"})))
    assert "pip install diskimage-builder" in message


def test_every_problem_is_reported_at_once() -> None:
    message = problems(make_host(euid=1000, files=frozenset({str(DIB)}), fetch=_unreachable))
    assert "not root" in message and "no loop devices" in message and "mirror not reachable" in message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("compress", "lz4", "compress"),
        ("compress_level", "max", "compress_level"),
        ("mirror", "deb.debian.org", "mirror"),
        ("release", "", "release"),
    ],
)
def test_bad_settings_are_refused_by_name(field: str, value: str, named: str) -> None:
    with pytest.raises(RamdiskError, match=named):
        RamdiskConfig(repo=REPO, out_dir=REPO, **{field: value})  # type: ignore[arg-type]
