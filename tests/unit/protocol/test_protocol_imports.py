"""Import rules: the protocol core does no I/O, and the agent package uses the standard library only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import teeth_agent

PACKAGE = Path(teeth_agent.__file__).parent
IO_MODULES = {"asyncio", "socket", "ssl", "selectors", "select", "socketserver", "subprocess"}


def _roots(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module.split(".")[0]}
    return set()


def imported_roots(path: Path, *, lazy: bool = True) -> set[str]:
    """Top-level packages `path` imports; with lazy=False, only imports outside function bodies."""
    tree = ast.parse(path.read_text(), str(path))
    roots: set[str] = set()
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        roots |= _roots(node)
        stack.extend(c for c in ast.iter_child_nodes(node) if lazy or not isinstance(c, functions))
    return roots


def test_protocol_core_imports_no_io_modules() -> None:
    files = sorted((PACKAGE / "protocol").glob("*.py"))
    assert files
    offenders = {f.name: imported_roots(f) & IO_MODULES for f in files}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_agent_package_imports_only_the_standard_library() -> None:
    # Not even the simulator or the endpoint lazily: `--backend sim` finds the simulator through an entry
    # point, so the ramdisk's package never names a package built on top of it.
    allowed = set(sys.stdlib_module_names) | {"teeth_agent", "__future__"}
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 5
    foreign = {str(f.relative_to(PACKAGE)): imported_roots(f) - allowed for f in files}
    assert {name: mods for name, mods in foreign.items() if mods} == {}
