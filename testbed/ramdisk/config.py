"""What a ramdisk build needs to know, and the environment disk-image-create runs with (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

IMAGE_BASENAME: Final = "teeth-agent"
COMPRESSORS: Final = ("zstd", "xz", "gzip")
DEFAULT_MIRROR: Final = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR: Final = "http://deb.debian.org/debian-security"
# Bumped whenever this package changes what it hands to disk-image-create, so cached builds are redone.
RECIPE_VERSION: Final = 1


class RamdiskError(RuntimeError):
    """The ramdisk cannot be built here; the message says what is missing and how to provide it."""


@dataclass(frozen=True)
class RamdiskConfig:
    repo: Path
    out_dir: Path
    release: str = "bookworm"
    mirror: str = DEFAULT_MIRROR
    security_mirror: str = DEFAULT_SECURITY_MIRROR
    compress: str = "zstd"
    compress_level: str = ""  # empty: the element's default for the compressor
    # The whole build, debootstrap to cpio; it takes 3-10 minutes on a CI machine.
    timeout_s: float = 45 * 60.0

    def __post_init__(self) -> None:
        if self.compress not in COMPRESSORS:
            raise RamdiskError(f"compress must be one of {', '.join(COMPRESSORS)}, not {self.compress!r}")
        for name in ("mirror", "security_mirror"):
            url = getattr(self, name)
            if not url.startswith(("http://", "https://", "file://")):
                raise RamdiskError(f"{name} must be an http(s):// or file:// URL, not {url!r}")
        if self.compress_level and not self.compress_level.isdigit():
            raise RamdiskError(f"compress_level must be a number, not {self.compress_level!r}")
        if not self.release:
            raise RamdiskError("release must name a Debian release, e.g. bookworm")

    @property
    def elements(self) -> Path:
        return self.repo / "elements"

    @property
    def image_name(self) -> Path:
        return self.out_dir / IMAGE_BASENAME

    @classmethod
    def from_env(cls, repo: Path, environ: Mapping[str, str]) -> RamdiskConfig:
        """Defaults overridden by the same variables DIB itself reads, plus the output directory."""
        return cls(
            repo=repo,
            out_dir=Path(environ.get("TEETH_RAMDISK_DIR") or repo / ".cache" / "ramdisk"),
            release=environ.get("DIB_RELEASE") or "bookworm",
            mirror=environ.get("DIB_DISTRIBUTION_MIRROR") or DEFAULT_MIRROR,
            security_mirror=environ.get("DIB_DEBIAN_SECURITY_MIRROR") or DEFAULT_SECURITY_MIRROR,
            compress=environ.get("DIB_TEETH_AGENT_COMPRESS") or "zstd",
            compress_level=environ.get("DIB_TEETH_AGENT_COMPRESS_LEVEL") or "",
        )


def dib_environment(
    config: RamdiskConfig, base: Mapping[str, str], wheel_dir: Path, tmp_dir: Path, cache_dir: Path
) -> dict[str, str]:
    """The environment for disk-image-create.

    The host's PIP_* variables are dropped: DIB passes its environment into the chroot, where they would
    name host paths. TMPDIR is a directory of this build alone, so whatever a failed run leaves mounted
    can be found and released.
    """
    env = {key: value for key, value in base.items() if not key.startswith("PIP_")}
    env.update(
        ELEMENTS_PATH=str(config.elements),
        DIB_RELEASE=config.release,
        DIB_DISTRIBUTION_MIRROR=config.mirror,
        DIB_DEBIAN_SECURITY_MIRROR=config.security_mirror,
        DIB_TEETH_AGENT_WHEELS=str(wheel_dir),
        DIB_TEETH_AGENT_COMPRESS=config.compress,
        DIB_TEETH_AGENT_COMPRESS_LEVEL=config.compress_level,
        DIB_IMAGE_CACHE=str(cache_dir),
        TMPDIR=str(tmp_dir),
    )
    return env


def dib_command(disk_image_create: Path, image_name: Path) -> list[str]:
    # teeth-agent pulls in debian-minimal itself, so no distribution element is named here.
    return [str(disk_image_create), "-o", str(image_name), IMAGE_BASENAME]
