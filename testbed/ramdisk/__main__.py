"""python -m testbed.ramdisk: build (or reuse) the ramdisk and say where it is."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from testbed import tools
from testbed.ramdisk.build import build_ramdisk
from testbed.ramdisk.config import COMPRESSORS, RamdiskConfig, RamdiskError
from testbed.ramdisk.iso import DEFAULT_CMDLINE, IsoContents, build_iso

_MIB = 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m testbed.ramdisk",
        description="Build the teeth-agent DIB ramdisk (kernel + initramfs), reusing an unchanged build.",
    )
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--out", type=Path, help="output directory (default: REPO/.cache/ramdisk)")
    parser.add_argument("--compress", choices=COMPRESSORS, help="initramfs compressor (default zstd)")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument("--verbose", "-v", action="store_true", help="show disk-image-create's output")
    iso = parser.add_argument_group("virtual-media ISO (always made beside the ramdisk as teeth-agent.iso)")
    iso.add_argument("--iso-out", type=Path, help="write the ISO here instead (e.g. one per machine)")
    iso.add_argument("--iso-cmdline", default=DEFAULT_CMDLINE,
                     help="kernel command line on the ISO (teeth.endpoint=URL, ip=..., console=...)")
    iso.add_argument("--iso-network-data", type=Path, help="a network_data.json to carry on the ISO")
    iso.add_argument("--iso-token", type=Path, help="a file holding the fleet token to carry on the ISO")
    return parser


def _iso(args: argparse.Namespace, kernel: Path, initramfs: Path, out_dir: Path) -> Path:
    target = (args.iso_out or out_dir / "teeth-agent.iso").resolve()
    contents = IsoContents(args.iso_cmdline, args.iso_network_data, args.iso_token)
    customised = args.iso_out is not None or contents != IsoContents()
    if not customised and target.is_file() and target.stat().st_mtime >= initramfs.stat().st_mtime:
        return target  # the default ISO of this very ramdisk is already there
    return build_iso(kernel, initramfs, target, contents)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = RamdiskConfig.from_env(args.repo.resolve(), os.environ)
        if args.out is not None:
            config = dataclasses.replace(config, out_dir=args.out.resolve())
        if args.compress is not None:
            config = dataclasses.replace(config, compress=args.compress)
        if not args.verbose:
            print(f"ramdisk: building if needed (log: {config.out_dir / 'build.log'})", file=sys.stderr)
        built = build_ramdisk(config, force=args.force, echo=args.verbose)
        iso = _iso(args, built.kernel, built.initramfs, config.out_dir)
    except (RamdiskError, tools.ToolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ramdisk: interrupted; the build was stopped and its mounts released", file=sys.stderr)
        return 130
    how = "reused (inputs unchanged)" if built.reused else f"built in {built.record.seconds:.0f} s"
    print(f"ramdisk {how}")
    print(f"  kernel     {built.kernel}  {built.record.kernel_bytes / _MIB:.1f} MiB")
    print(f"  initramfs  {built.initramfs}  {built.record.initramfs_bytes / _MIB:.1f} MiB")
    print(f"  checksums  {built.sha256}")
    print(f"  iso        {iso}  {iso.stat().st_size / _MIB:.1f} MiB (BIOS + UEFI)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
