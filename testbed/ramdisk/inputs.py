"""The content hash of everything a ramdisk is built from, and the record a finished build leaves behind.

A build is reused when the element, the agent's sources and the build settings hash the same as last
time and the artefacts still match their checksums; anything else rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from testbed.ramdisk.config import IMAGE_BASENAME, RECIPE_VERSION, RamdiskConfig

# Generated files that never change what is built.
_IGNORED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
_IGNORED_SUFFIXES = (".pyc", ".pyo", "~", ".swp")


@dataclass(frozen=True)
class BuildRecord:
    """Written beside the artefacts as build-info.json once a build has succeeded."""

    inputs: str
    seconds: float
    kernel_bytes: int
    initramfs_bytes: int
    release: str
    compress: str
    # post-install.d/97's report: per driver, the firmware files kept and those it names but no package ships
    firmware: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BuildRecord:
        data = json.loads(text)
        required = {name: data[name] for name in cls.__dataclass_fields__ if name != "firmware"}
        return cls(**required, firmware=dict(data.get("firmware") or {}))


def _source_files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_PARTS)
        for name in sorted(filenames):
            if not name.endswith(_IGNORED_SUFFIXES):
                yield Path(dirpath) / name


def input_digest(config: RamdiskConfig, dib_version: str) -> str:
    """sha256 over the element trees, the agent package, pyproject.toml and the build settings."""
    digest = hashlib.sha256()
    settings = f"recipe={RECIPE_VERSION} dib={dib_version} release={config.release}"
    settings += f" compress={config.compress}:{config.compress_level}"
    digest.update(settings.encode() + b"\0")
    trees = [config.elements, config.repo / "teeth_agent"]
    files = [path for tree in trees for path in _source_files(tree)]
    files.append(config.repo / "pyproject.toml")
    for path in files:
        relative = path.relative_to(config.repo).as_posix()
        # The executable bit matters: DIB only runs hook scripts that are executable.
        mode = "x" if os.access(path, os.X_OK) else "-"
        digest.update(f"{relative}\0{mode}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def artefact_paths(out_dir: Path) -> dict[str, Path]:
    return {
        kind: out_dir / f"{IMAGE_BASENAME}.{kind}" for kind in ("kernel", "initramfs", "sha256")
    } | {"record": out_dir / "build-info.json"}


def checksums_match(sha256_file: Path) -> bool:
    """True when every file named in a sha256sum-format file exists beside it with that hash."""
    lines = [line.split() for line in sha256_file.read_text().splitlines() if line.strip()]
    if not lines:
        return False
    for fields in lines:
        if len(fields) != 2:
            return False
        expected, name = fields
        path = sha256_file.parent / name.lstrip("*")
        if not path.is_file():
            return False
        with path.open("rb") as stream:
            if hashlib.file_digest(stream, "sha256").hexdigest() != expected:
                return False
    return True


def reusable_record(out_dir: Path, digest: str) -> BuildRecord | None:
    """The previous build's record when its inputs hash to `digest` and its artefacts are intact."""
    paths = artefact_paths(out_dir)
    if not all(path.is_file() for path in paths.values()):
        return None
    try:
        record = BuildRecord.from_json(paths["record"].read_text())
    except (ValueError, KeyError, TypeError):
        return None
    if record.inputs != digest or not checksums_match(paths["sha256"]):
        return None
    return record
