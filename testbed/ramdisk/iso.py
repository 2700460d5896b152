"""`teeth-agent.iso`: the ramdisk as a virtual-media CD that boots under BIOS and UEFI.

grub-mkrescue lays out both El Torito entries (i386-pc for BIOS, an EFI system image for UEFI) around one
grub.cfg that boots the same kernel and initramfs. The ISO carries the kernel command line, and may carry
a `network_data.json` and a fleet token under /teeth/: the cmdline then tells the ramdisk to copy them
from the medium (`teeth.media=LABEL`) before networking starts. A token on an ISO is readable by whoever
can read the ISO; per-machine ISOs from a BMC's virtual media are the intended use.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from testbed import tools
from testbed.ramdisk.config import RamdiskError

ISO_LABEL = "TEETHAGENT"
DEFAULT_CMDLINE = "console=tty0 console=ttyS0,115200"
RUN_DIR = "/run/teeth-agent"  # where teeth-agent-netconfig copies what the medium carries


@dataclass(frozen=True)
class IsoContents:
    cmdline: str = DEFAULT_CMDLINE
    network_data: Path | None = None
    token: Path | None = None
    label: str = ISO_LABEL


def boot_cmdline(contents: IsoContents) -> str:
    words = shlex.split(contents.cmdline)
    if contents.network_data is not None or contents.token is not None:
        words.append(f"teeth.media={contents.label}")
    if contents.network_data is not None:
        words.append(f"teeth.network={RUN_DIR}/network_data.json")
    if contents.token is not None:
        words.append(f"teeth.token_file={RUN_DIR}/token")
    return " ".join(words)


def grub_cfg(cmdline: str) -> str:
    if any(c in cmdline for c in "\n;{}$\\\"'"):
        raise RamdiskError(f"the ISO's kernel command line may not hold quotes, braces, $ or ;: {cmdline!r}")
    return (
        "set timeout=3\n"
        "set default=0\n"
        "serial --unit=0 --speed=115200\n"
        "terminal_input console serial\n"
        "terminal_output console serial\n"
        'menuentry "teeth-agent" {\n'
        f"    linux /teeth/kernel {cmdline}\n"
        "    initrd /teeth/initramfs\n"
        "}\n"
    )


def build_iso(kernel: Path, initramfs: Path, out: Path, contents: IsoContents = IsoContents()) -> Path:
    for given in (contents.network_data, contents.token):
        if given is not None and not given.is_file():
            raise RamdiskError(f"{given}: no such file to put on the ISO")
    with tempfile.TemporaryDirectory(prefix="teeth-iso-") as scratch:
        root = Path(scratch) / "root"
        (root / "boot" / "grub").mkdir(parents=True)
        (root / "teeth").mkdir()
        (root / "boot" / "grub" / "grub.cfg").write_text(grub_cfg(boot_cmdline(contents)))
        shutil.copyfile(kernel, root / "teeth" / "kernel")
        shutil.copyfile(initramfs, root / "teeth" / "initramfs")
        if contents.network_data is not None:
            shutil.copyfile(contents.network_data, root / "teeth" / "network_data.json")
        if contents.token is not None:
            (root / "teeth" / "token").write_bytes(contents.token.read_bytes())
        partial = out.with_name(f".{out.name}.partial")
        argv = ["grub-mkrescue", "-o", str(partial), str(root), "--", "-volid", contents.label]
        tools.run(argv, timeout=600)
        partial.replace(out)
    return out


def el_torito_platforms(iso: Path) -> set[str]:
    """The platforms of the ISO's El Torito boot entries, as xorriso reports them ("BIOS", "UEFI")."""
    report = tools.run(["xorriso", "-indev", str(iso), "-report_el_torito", "plain"], timeout=120)
    platforms = set()
    for line in report.splitlines():
        fields = line.split()
        # "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4     ..."
        if line.startswith("El Torito boot img") and len(fields) > 6:
            platforms.add(fields[6])
    return platforms
