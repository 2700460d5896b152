"""Build the ramdisk: host packages, the agent's wheel, disk-image-create, and a cache keyed on content."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from testbed.ramdisk import cleanup, preflight
from testbed.ramdisk.config import RamdiskConfig, RamdiskError, dib_command, dib_environment
from testbed.ramdisk.inputs import BuildRecord, artefact_paths, input_digest, reusable_record

_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class RamdiskArtifacts:
    kernel: Path
    initramfs: Path
    sha256: Path
    record: BuildRecord
    reused: bool


def disk_image_create_path() -> Path:
    return Path(sys.executable).parent / "disk-image-create"


def apt_packages(deps_file: Path) -> list[str]:
    """Package names from a deps/apt-*.txt file: one per line, # comments."""
    names = (line.split("#", 1)[0].strip() for line in deps_file.read_text().splitlines())
    return [name for name in names if name]


def install_host_packages(deps_file: Path) -> None:
    """apt-get install whichever of the listed packages is missing (root only; otherwise preflight says)."""
    missing = [
        name
        for name in apt_packages(deps_file)
        if "install ok installed"
        not in subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False
        ).stdout
    ]
    if not missing or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    subprocess.run(install, check=True, env=env)


def build_wheel(repo: Path, dest: Path) -> Path:
    """A wheel of the agent package alone, built from a copy so the shared tree gains no build/ dirs."""
    with tempfile.TemporaryDirectory(prefix="teeth-wheel-") as scratch:
        source = Path(scratch)
        shutil.copy2(repo / "pyproject.toml", source / "pyproject.toml")
        readme = repo / "README.md"
        (source / "README.md").write_text(readme.read_text() if readme.is_file() else "teeth-agent\n")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(repo / "teeth_agent", source / "teeth_agent", ignore=ignore)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(source)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RamdiskError(f"building the agent wheel failed:\n{done.stdout}{done.stderr}")
    wheels = sorted(dest.glob("teeth_agent-*.whl"))
    if not wheels:
        raise RamdiskError(f"pip wheel left no teeth_agent-*.whl in {dest}")
    return wheels[-1]


def _tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def run_dib(command: list[str], env: Mapping[str, str], log: Path, timeout_s: float, echo: bool) -> None:
    """Run disk-image-create in its own process group, so a timeout can stop all of it."""
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=dict(env), stdout=None if echo else sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except BaseException:
            # Timeout or ^C: stop the whole build; DIB's own traps unmount what they can.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            raise
    if returncode != 0:
        detail = "" if echo else f"\nlast lines of {log}:\n{_tail(log)}"
        raise RamdiskError(f"disk-image-create failed with exit status {returncode}{detail}")


@contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """One build per output directory at a time; a second caller waits and then reuses the result."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _artifacts(out_dir: Path, record: BuildRecord, reused: bool) -> RamdiskArtifacts:
    paths = artefact_paths(out_dir)
    return RamdiskArtifacts(paths["kernel"], paths["initramfs"], paths["sha256"], record, reused)


def build_ramdisk(config: RamdiskConfig, *, force: bool = False, echo: bool = False) -> RamdiskArtifacts:
    """Return the ramdisk for `config`, building it only when its inputs changed (or `force`)."""
    dib = disk_image_create_path()
    digest = input_digest(config, metadata.version("diskimage-builder") if dib.exists() else "absent")
    with _exclusive(config.out_dir):
        previous = None if force else reusable_record(config.out_dir, digest)
        if previous is not None:
            return _artifacts(config.out_dir, previous, reused=True)
        deps = config.repo / "deps" / "apt-ramdisk.txt"
        if deps.is_file():
            install_host_packages(deps)
        preflight.check_host(config, preflight.Host.real(), dib)
        record = _build(config, dib, digest, echo)
        return _artifacts(config.out_dir, record, reused=False)


def _build(config: RamdiskConfig, dib: Path, digest: str, echo: bool) -> BuildRecord:
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=config.out_dir))
    try:
        (scratch / "wheels").mkdir()
        (scratch / "tmp").mkdir()
        (scratch / "out").mkdir()
        build_wheel(config.repo, scratch / "wheels")
        env = dib_environment(
            config, os.environ, scratch / "wheels", scratch / "tmp", config.out_dir.parent / "dib-cache"
        )
        command = dib_command(dib, scratch / "out" / config.image_name.name)
        try:
            run_dib(command, env, config.out_dir / "build.log", config.timeout_s, echo)
        finally:
            for line in cleanup.release_under(scratch):
                print(f"ramdisk: {line}", file=sys.stderr)
        return _publish(config, scratch / "out", digest, time.monotonic() - started)
    finally:
        _remove_scratch(scratch)


def _remove_scratch(scratch: Path) -> None:
    # Never delete through a mount that is still there: DIB bind-mounts the host's /dev into its chroot.
    left = cleanup.mounts_under(Path("/proc/self/mountinfo").read_text(), scratch)
    if left:
        raise RamdiskError(f"could not unmount {', '.join(left)}; unmount them, then delete {scratch}")
    shutil.rmtree(scratch, ignore_errors=True)


def _publish(config: RamdiskConfig, built: Path, digest: str, seconds: float) -> BuildRecord:
    """Move the artefacts into place, the record last: a half-published build is never reused."""
    staged = artefact_paths(built)
    for kind in ("kernel", "initramfs", "sha256"):
        if not staged[kind].is_file():
            raise RamdiskError(f"disk-image-create finished but made no {staged[kind].name}")
    final = artefact_paths(config.out_dir)
    final["record"].unlink(missing_ok=True)
    for kind in ("kernel", "initramfs", "sha256"):
        os.replace(staged[kind], final[kind])
    firmware_report = built / f"{config.image_name.name}.firmware.json"
    record = BuildRecord(
        firmware=json.loads(firmware_report.read_text()) if firmware_report.is_file() else {},
        inputs=digest,
        seconds=round(seconds, 1),
        kernel_bytes=final["kernel"].stat().st_size,
        initramfs_bytes=final["initramfs"].stat().st_size,
        release=config.release,
        compress=config.compress,
    )
    final["record"].write_text(record.to_json())
    return record
