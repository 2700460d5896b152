"""The pure parts of the tenant image: cpio archive, module closure, generated files."""

import gzip
import stat

import pytest

from testbed import cpio, tenant_files
from testbed.kmods import ModuleError, ModuleIndex, module_name
from testbed.tenant_image import is_static_elf, parent_dirs

pytestmark = pytest.mark.testbed


def test_cpio_archive_round_trips_files_dirs_and_symlinks() -> None:
    entries = [cpio.directory("bin"), cpio.file("bin/busybox", b"\x7fELF" * 3, 0o755),
               cpio.symlink("bin/sh", "busybox"), cpio.file("init", b"#!/bin/sh\n", 0o755)]
    members = cpio.read(cpio.archive(entries))
    assert [(n, b) for n, _, b in members] == [("bin", b""), ("bin/busybox", b"\x7fELF" * 3),
                                                ("bin/sh", b"busybox"), ("init", b"#!/bin/sh\n")]
    modes = {n: m for n, m, _ in members}
    assert stat.S_ISDIR(modes["bin"]) and stat.S_ISLNK(modes["bin/sh"])
    assert stat.S_IMODE(modes["init"]) == 0o755


@pytest.mark.parametrize("path", ["/abs", "a/../b", ""])
def test_cpio_refuses_paths_that_leave_the_archive(path: str) -> None:
    with pytest.raises(ValueError, match="relative"):
        cpio.file(path, b"")


def test_cpio_reader_refuses_garbage() -> None:
    with pytest.raises(ValueError, match="no newc header"):
        cpio.read(b"garbage")


def test_cpio_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="twice"):
        cpio.archive([cpio.file("a", b""), cpio.file("a", b"")])


MODULES_DEP = """\
kernel/drivers/nvme/host/nvme.ko: kernel/drivers/nvme/host/nvme-core.ko kernel/lib/crc64.ko
kernel/drivers/nvme/host/nvme-core.ko: kernel/lib/crc64.ko
kernel/lib/crc64.ko:
kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko
kernel/fs/fat/fat.ko:
kernel/a.ko: kernel/b.ko
kernel/b.ko: kernel/a.ko
"""


def test_module_names_treat_dash_and_underscore_alike() -> None:
    assert module_name("kernel/drivers/nvme/host/nvme-core.ko") == "nvme_core"
    assert module_name("x/virtio_blk.ko.xz") == "virtio_blk"


def test_load_order_puts_dependencies_first_and_skips_builtins() -> None:
    index = ModuleIndex.parse(MODULES_DEP, "kernel/drivers/virtio/virtio_pci.ko\n")
    assert index.load_order(["nvme", "virtio_pci", "vfat", "nvme-core"]) == [
        "kernel/lib/crc64.ko", "kernel/drivers/nvme/host/nvme-core.ko", "kernel/drivers/nvme/host/nvme.ko",
        "kernel/fs/fat/fat.ko", "kernel/fs/fat/vfat.ko"]


def test_unknown_modules_and_cycles_are_named() -> None:
    index = ModuleIndex.parse(MODULES_DEP)
    with pytest.raises(ModuleError, match="ahci"):
        index.load_order(["ahci"])
    with pytest.raises(ModuleError, match="cycle: a -> b -> a"):
        index.load_order(["a"])
    with pytest.raises(ValueError, match="line 1"):
        ModuleIndex.parse("no colon here\n")


def test_init_script_prints_markers_and_powers_off() -> None:
    script = tenant_files.init_script(["kernel/fs/fat/vfat.ko"])
    assert script.startswith("#!/bin/busybox sh\n")
    assert f'echo "{tenant_files.BOOT_MARKER}' in script
    assert tenant_files.UUID_PREFIX in script and "findfs LABEL=config-2" in script
    assert "kernel/fs/fat/vfat.ko" in script
    assert script.rstrip().endswith("poweroff -f")


def test_grub_cfg_boots_the_tenant_on_the_serial_console() -> None:
    cfg = tenant_files.grub_cfg()
    assert "linux /boot/vmlinuz console=ttyS0,115200" in cfg and "initrd /boot/initrd.img" in cfg


def test_meta_data_carries_the_uuid() -> None:
    assert '"uuid": "abc"' in tenant_files.meta_data_json("abc")


def test_parent_dirs_come_before_children() -> None:
    assert parent_dirs(["lib/modules/k/a.ko", "bin/busybox", "init"], extra=("dev",)) == [
        "bin", "dev", "lib", "lib/modules", "lib/modules/k"]


def test_static_elf_detection() -> None:
    header = bytearray(0x40 + 56)
    header[:5] = b"\x7fELF\x02"
    header[0x20:0x28] = (0x40).to_bytes(8, "little")
    header[0x36:0x38] = (56).to_bytes(2, "little")
    header[0x38:0x3A] = (1).to_bytes(2, "little")
    header[0x40:0x44] = (1).to_bytes(4, "little")  # PT_LOAD only
    assert is_static_elf(bytes(header))
    header[0x40:0x44] = (3).to_bytes(4, "little")  # PT_INTERP
    assert not is_static_elf(bytes(header))
    assert not is_static_elf(gzip.compress(b"not elf"))
