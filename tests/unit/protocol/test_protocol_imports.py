"""Import rules: the protocol core does no I/O, and the agent package uses the standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import teeth_agent

PACKAGE = Path(teeth_agent.__file__).parent
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "select", "socketserver", "subprocess"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_protocol_core_imports_no_io_modules() -> None:
    files = sorted((PACKAGE / "protocol").glob("*.py"))
    assert files
    offenders = {f.name: imported_roots(f) & IO_MODULES for f in files}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_agent_package_imports_only_the_standard_library() -> None:
    allowed = set(sys.stdlib_module_names) | {"teeth_agent", "__future__"}
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5
    foreign = {str(f.relative_to(PACKAGE)): imported_roots(f) - allowed for f in files}
    assert {name: mods for name, mods in foreign.items() if mods} == {}
