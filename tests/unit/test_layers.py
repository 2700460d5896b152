"""The floor plan: every import in the tree goes down (or sideways within a layer), as docs/architecture.md
draws it.

The layer table is read from the doc itself (between its `layers` markers), so the doc and this check
cannot part. Imports are found with `ast` in every module of the five source trees, wherever they sit
(module level, inside functions, under TYPE_CHECKING), and resolved to the module they name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "architecture.md"
ROOTS = ("teeth_agent", "teeth_endpoint", "simulator", "testbed", "benchmarks")
BEGIN, END = "<!-- layers: begin -->", "<!-- layers: end -->"


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]
    sits_on: tuple[str, ...]


def parse_layers(text: str) -> dict[str, Layer]:
    """The table between the markers: `| layer | `mod`, `mod` | layer, layer |` rows (`—` for none)."""
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{DOC.name} must hold one layers table"
    rows = text.split(BEGIN, 1)[1].split(END, 1)[0].strip().splitlines()[2:]
    layers: dict[str, Layer] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        assert len(cells) == 3, f"not a layer row: {row!r}"
        name, modules, below = cells
        sits_on = () if below in ("", "—", "-") else tuple(b.strip() for b in below.split(","))
        assert name not in layers, f"layer {name!r} listed twice"
        layers[name] = Layer(name, tuple(re.findall(r"`([\w.]+)`", modules)), sits_on)
    return layers


def allowed_below(layers: dict[str, Layer]) -> dict[str, frozenset[str]]:
    """For each layer, every layer under it (what it sits on, and what those sit on)."""
    out: dict[str, frozenset[str]] = {}

    def below(name: str, path: tuple[str, ...]) -> frozenset[str]:
        assert name not in path, f"layers sit on each other in a circle: {' -> '.join((*path, name))}"
        if name not in out:
            found: set[str] = set()
            for under in layers[name].sits_on:
                assert under in layers, f"layer {name!r} sits on {under!r}, which is not in the table"
                found |= {under} | below(under, (*path, name))
            out[name] = frozenset(found)
        return out[name]

    for name in layers:
        below(name, ())
    return out


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the source trees."""
    out: dict[str, Path] = {}
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports_of(path: Path, module: str, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, dotted module) for every import of one of our own modules in `path`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod.
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in known else base))
    return [(line, name) for line, name in found if name.split(".")[0] in ROOTS]


def layer_of(module: str, owners: dict[str, str]) -> str | None:
    """The layer of the longest listed prefix of `module`."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        owner = owners.get(".".join(parts[:n]))
        if owner is not None:
            return owner
    return None


@pytest.fixture(scope="module")
def layers() -> dict[str, Layer]:
    return parse_layers(DOC.read_text())


@pytest.fixture(scope="module")
def owners(layers: dict[str, Layer]) -> dict[str, str]:
    out: dict[str, str] = {}
    for layer in layers.values():
        for module in layer.modules:
            assert module not in out, f"{module} is in layers {out[module]!r} and {layer.name!r}"
            out[module] = layer.name
    return out


def test_every_listed_module_exists(owners: dict[str, str]) -> None:
    known = module_files()
    assert sorted(m for m in owners if m not in known) == [], "the table lists modules the tree lacks"


def test_every_module_with_imports_of_ours_is_in_a_layer(owners: dict[str, str]) -> None:
    known = module_files()
    homeless = [
        str(path.relative_to(REPO))
        for module, path in known.items()
        if layer_of(module, owners) is None and imports_of(path, module, known)
    ]
    assert homeless == [], f"place these modules in a layer of {DOC.name}"


def test_no_import_runs_back_up_a_layer(layers: dict[str, Layer], owners: dict[str, str]) -> None:
    below = allowed_below(layers)
    known = module_files()
    upward: list[str] = []
    for module, path in known.items():
        here = layer_of(module, owners)
        if here is None:
            continue
        for line, target in imports_of(path, module, known):
            there = layer_of(target, owners)
            if there != here and there not in below[here]:
                where = f"{path.relative_to(REPO)}:{line}"
                upward.append(f"{where} ({here}) imports {target} ({there or 'in no layer'})")
    assert upward == [], "imports the floor plan does not allow:\n" + "\n".join(upward)


def test_only_the_commands_package_imports_teeth_agent_commands() -> None:
    known = module_files()
    offenders = [
        f"{path.relative_to(REPO)}:{line} imports {target}"
        for module, path in known.items()
        if module.startswith("teeth_agent.") and not module.startswith("teeth_agent.commands")
        for line, target in imports_of(path, module, known)
        if target == "teeth_agent.commands" or target.startswith("teeth_agent.commands.")
    ]
    assert offenders == []


def test_the_checker_sees_an_upward_import() -> None:
    # The checks above pass on a clean tree; this shows they would fail on a dirty one.
    layers = parse_layers(f"{BEGIN}\n| layer | modules | sits on |\n|---|---|---|\n"
                          "| low | `teeth_agent.errors` | — |\n| high | `teeth_agent.params` | low |\n"
                          f"{END}\n")
    below = allowed_below(layers)
    owners = {"teeth_agent.errors": "low", "teeth_agent.params": "high"}
    known = module_files()
    path = known["teeth_agent.params"]
    targets = {layer_of(t, owners) for _, t in imports_of(path, "teeth_agent.params", known)}
    assert targets == {"low"} and "low" in below["high"] and "high" not in below["low"]
    with pytest.raises(AssertionError, match="circle"):
        allowed_below(parse_layers(f"{BEGIN}\n|l|m|s|\n|-|-|-|\n| a | `x` | b |\n| b | `y` | a |\n{END}"))
