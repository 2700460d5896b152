"""Build the tenant test image without root: a Debian kernel + a busybox initramfs whose /init prints
a marker and the config drive's uuid, in an ext4 filesystem (`mke2fs -d`) on an MBR disk with grub.

The kernel and its modules come from the host's linux-image package (deps/apt-testbed.txt). Outputs
land in one directory and are reused while the kernel version is unchanged: the build is atomic
(a temporary directory renamed into place), so an interrupted build never leaves a half image.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testbed import bootdisk, cpio, kmods, tenant_files, tools
from testbed.kmods import ModuleIndex

FS_LABEL = "tenant-root"
PART_BYTES = 64 << 20
MANIFEST = "manifest.json"


class TenantImageError(RuntimeError):
    """The tenant image cannot be built; the message says what is missing."""


@dataclass(frozen=True)
class KernelSource:
    version: str
    vmlinuz: Path
    modules_dir: Path


@dataclass(frozen=True)
class TenantImage:
    directory: Path
    kernel_version: str

    @property
    def kernel(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.directory / "initrd.img"

    @property
    def disk(self) -> Path:
        return self.directory / "disk.img"


def find_kernel(boot: Path = Path("/boot"), modules_root: Path = Path("/lib/modules")) -> KernelSource:
    """The newest kernel that has both /boot/vmlinuz-V and /lib/modules/V/modules.dep."""
    found = []
    for vmlinuz in sorted(boot.glob("vmlinuz-*")):
        version = vmlinuz.name.removeprefix("vmlinuz-")
        if (modules_root / version / "modules.dep").is_file():
            found.append(KernelSource(version, vmlinuz, modules_root / version))
    if not found:
        raise TenantImageError(
            f"no kernel with modules in {boot} and {modules_root}: install Debian package "
            "linux-image-amd64 (listed in deps/apt-testbed.txt)")
    return found[-1]


def is_static_elf(data: bytes) -> bool:
    """True for an ELF64 executable without a PT_INTERP (dynamic loader) program header."""
    if data[:5] != b"\x7fELF\x02":
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = (struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum))
    return 3 not in types  # 3 = PT_INTERP


def _busybox() -> bytes:
    path = Path(tools.require("busybox"))
    data = path.read_bytes()
    if not is_static_elf(data):
        raise TenantImageError(f"{path} is not statically linked: install Debian package busybox-static")
    return data


def initramfs(kernel: KernelSource, busybox: bytes) -> bytes:
    """The tenant's gzip-compressed initramfs: busybox, its /init and the modules it needs."""
    index = ModuleIndex.parse((kernel.modules_dir / "modules.dep").read_text(),
                              _read_optional(kernel.modules_dir / "modules.builtin"))
    modules = index.load_order(tenant_files.WANTED_MODULES)
    files = [cpio.file("bin/busybox", busybox, 0o755), cpio.symlink("bin/sh", "busybox"),
             cpio.file("init", tenant_files.init_script(modules).encode(), 0o755)]
    files += [cpio.file(f"lib/modules/{m}", (kernel.modules_dir / m).read_bytes()) for m in modules]
    dirs = parent_dirs([f.path for f in files], extra=("dev", "proc", "sys", "mnt"))
    entries = [cpio.directory(d) for d in dirs] + files
    return gzip.compress(cpio.archive(entries), compresslevel=6, mtime=0)


def parent_dirs(paths: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    """Every directory the relative paths live in, plus extra, parents before children."""
    dirs: set[str] = set(extra)
    for path in paths:
        parent = Path(path).parent
        while str(parent) != ".":
            dirs.add(str(parent))
            parent = parent.parent
    return sorted(dirs, key=lambda d: (d.count("/"), d))


def _read_optional(path: Path) -> str:
    return path.read_text() if path.is_file() else ""


def ensure(out_dir: Path, kernel: KernelSource | None = None) -> TenantImage:
    """The tenant image in out_dir, built now unless an up-to-date one is already there."""
    kernel = kernel or find_kernel()
    image = TenantImage(out_dir, kernel.version)
    if _manifest(out_dir) == _expected_manifest(kernel):
        return image
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".tenant-build-") as tmp:
        staging = Path(tmp) / "image"
        staging.mkdir()
        _build(staging, kernel, Path(tmp))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    return image


def _expected_manifest(kernel: KernelSource) -> dict[str, object]:
    # Hashing the code that builds the image rebuilds it whenever that code changes.
    recipe = hashlib.sha256()
    for module in (tenant_files, cpio, bootdisk, kmods, sys.modules[__name__]):
        recipe.update(Path(module.__file__ or "").read_bytes())
    return {"kernel_version": kernel.version, "fs_label": FS_LABEL, "recipe_sha256": recipe.hexdigest()}


def _manifest(out_dir: Path) -> object:
    try:
        return json.loads((out_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _build(staging: Path, kernel: KernelSource, tmp: Path) -> None:
    shutil.copyfile(kernel.vmlinuz, staging / "vmlinuz")
    (staging / "initrd.img").write_bytes(initramfs(kernel, _busybox()))
    root = tmp / "rootfs"
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copyfile(staging / "vmlinuz", root / "boot" / "vmlinuz")
    shutil.copyfile(staging / "initrd.img", root / "boot" / "initrd.img")
    (root / "boot" / "grub" / "grub.cfg").write_text(tenant_files.grub_cfg())
    fs = tmp / "rootfs.ext4"
    with fs.open("wb") as f:
        f.truncate(PART_BYTES)
    tools.run(["mke2fs", "-q", "-F", "-t", "ext4", "-O", "^metadata_csum_seed,^orphan_file",
               "-L", FS_LABEL, "-E", "root_owner=0:0", "-d", str(root), str(fs)])
    plan = bootdisk.BootDiskPlan(FS_LABEL, PART_BYTES)
    bootdisk.assemble(staging / "disk.img", plan, fs, tmp)
    (staging / MANIFEST).write_text(json.dumps(_expected_manifest(kernel), indent=2) + "\n")
