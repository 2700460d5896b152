"""`python -m benchmarks [--quick] [--only NAME ...] [module flags]`: run every benchmarks/bench_*.py.

Modules are discovered by name; each `run(quick)` (or `run(quick, options)`) returns Figures, printed as
one table at the end (and as each module finishes). A module that fails is reported and the rest still
run; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from benchmarks.figure import Figure, format_table

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def load(names: list[str]) -> tuple[list[ModuleType], list[str]]:
    """The modules that import and expose run(); the names of those that do not (reported as failures)."""
    modules: list[ModuleType] = []
    broken: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except Exception:
            traceback.print_exc()
            broken.append(name)
            continue
        if callable(getattr(module, "run", None)):
            modules.append(module)
        else:
            print(f"benchmarks/{name}.py has no run(quick) -> list[Figure]", file=sys.stderr)
            broken.append(name)
    return modules, broken


def build_parser(modules: list[ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not the real figures")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only bench modules whose name contains NAME (repeatable)")
    for module in modules:
        add = getattr(module, "add_arguments", None)
        if add is not None:
            add(parser.add_argument_group(module.__name__.rsplit(".", 1)[-1]))
    return parser  # fmt: skip


def run_module(module: ModuleType, quick: bool, options: argparse.Namespace) -> list[Figure]:
    run = module.run
    figures = list(run(quick, options) if len(inspect.signature(run).parameters) >= 2 else run(quick))
    wrong = {type(f).__name__ for f in figures if not isinstance(f, Figure)}
    if wrong:
        raise TypeError(f"{module.__name__}.run() must return Figure objects, not {', '.join(sorted(wrong))}")
    return figures


def main(argv: list[str] | None = None) -> int:
    modules, broken = load(discover())
    options = build_parser(modules).parse_args(argv)
    selected = [m for m in modules if not options.only or any(o in m.__name__ for o in options.only)]
    figures: list[Figure] = []
    failed = [b for b in broken if not options.only or any(o in b for o in options.only)]
    for module in selected:
        name = module.__name__.rsplit(".", 1)[-1]
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            mine = run_module(module, options.quick, options)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        print(format_table(mine), flush=True)
        print(f"   ({time.monotonic() - started:.1f} s)\n", flush=True)
        figures.extend(mine)
    print("== all figures")
    print(format_table(figures))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
