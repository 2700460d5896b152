"""diskimage-builder's own linter, dib-lint, finds nothing wrong with the elements.

dib-lint ships with diskimage-builder (a declared dependency), so a missing dib-lint is a failure that says
how to install it, never a skip. It runs in a few seconds and needs no root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ELEMENTS = REPO / "elements"
INSTALL_HINT = (
    "install diskimage-builder into the venv (it is in pyproject's testbed extra): "
    ".venv/bin/pip install 'diskimage-builder>=3.30'"
)


def _dib_lint() -> Path:
    # Next to the interpreter, like disk-image-create in testbed/ramdisk/build.py.
    path = Path(sys.executable).parent / "dib-lint"
    assert path.is_file(), f"dib-lint not found at {path}: {INSTALL_HINT}"
    return path


def _run_dib_lint(workdir: Path, empty_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run dib-lint over workdir/elements, from workdir (it reads tox.ini and .gitignore from there)."""
    env = dict(os.environ)
    # dib-lint calls "python" to parse YAML; the venv's has PyYAML (a diskimage-builder dependency).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ELEMENTS_DIR"] = "elements"
    # Its defaults point into a diskimage-builder checkout; LIB_DIR must exist, and there is none here.
    env["LIB_DIR"] = str(empty_dir)
    return subprocess.run(
        ["bash", str(_dib_lint())], cwd=workdir, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def _report(done: subprocess.CompletedProcess[str]) -> str:
    findings = [line for line in done.stdout.splitlines() if not line.startswith(("Checking ", "Parsing "))]
    return "\n".join([f"dib-lint exit status {done.returncode}:", *findings, done.stderr.strip()])


def test_dib_lint_finds_nothing_in_the_elements(tmp_path: Path) -> None:
    done = _run_dib_lint(REPO, tmp_path)
    assert done.returncode == 0, _report(done)
    assert "ERROR" not in done.stdout, _report(done)
    # A wrong ELEMENTS_DIR would make dib-lint check nothing and still PASS: make sure it saw our files.
    checked = {line.removeprefix("Checking ") for line in done.stdout.splitlines()}
    scripts = {str(path.relative_to(REPO)) for path in ELEMENTS.rglob("*") if path.is_file()
               and path.suffix not in {".rst", ".yaml", ".py"}}
    assert scripts and scripts <= checked, f"dib-lint did not check {sorted(scripts - checked)}"


def test_dib_lint_reports_a_broken_element(tmp_path: Path) -> None:
    # The check above is only worth something if this way of running dib-lint does fail on findings.
    hook = tmp_path / "elements" / "broken" / "install.d" / "10-broken"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/bash\necho no strict mode here\n")
    hook.chmod(0o755)
    empty = tmp_path / "lib"
    empty.mkdir()
    done = _run_dib_lint(tmp_path, empty)
    assert done.returncode != 0, _report(done)
    assert "elements/broken lacks a README.rst" in done.stdout
    assert "elements/broken/install.d/10-broken is not set -e" in done.stdout
