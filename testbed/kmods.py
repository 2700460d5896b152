"""Which kernel modules to copy into the tenant initramfs, and in which order to load them.

Pure: reads the text of a kernel's `modules.dep` and `modules.builtin`, never the filesystem.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class ModuleError(LookupError):
    """A wanted module that the kernel neither ships nor has built in."""


def module_name(path: str) -> str:
    """kernel/drivers/nvme/host/nvme-core.ko -> nvme_core (the kernel treats - and _ alike)."""
    base = path.rsplit("/", 1)[-1]
    for suffix in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base.replace("-", "_")


@dataclass(frozen=True)
class ModuleIndex:
    paths: Mapping[str, str]  # name -> path relative to /lib/modules/<version>
    deps: Mapping[str, tuple[str, ...]]  # name -> names it needs
    builtin: frozenset[str]

    @classmethod
    def parse(cls, modules_dep: str, modules_builtin: str = "") -> ModuleIndex:
        paths: dict[str, str] = {}
        deps: dict[str, tuple[str, ...]] = {}
        for lineno, line in enumerate(modules_dep.splitlines(), start=1):
            if not line.strip():
                continue
            head, sep, tail = line.partition(":")
            if not sep:
                raise ValueError(f"modules.dep line {lineno}: no ':' in {line!r}")
            name = module_name(head.strip())
            paths[name] = head.strip()
            deps[name] = tuple(module_name(p) for p in tail.split())
        builtin = frozenset(module_name(p) for p in modules_builtin.split())
        return cls(paths, deps, builtin)

    def load_order(self, wanted: Iterable[str]) -> list[str]:
        """Paths of the wanted modules and everything they need, each after its dependencies."""
        order: list[str] = []
        done: set[str] = set()
        for name in wanted:
            self._visit(module_name(name), order, done, ())
        return order

    def _visit(self, name: str, order: list[str], done: set[str], chain: tuple[str, ...]) -> None:
        if name in done or (name in self.builtin and name not in self.paths):
            return
        if name not in self.paths:
            needed_by = f" (needed by {chain[-1]})" if chain else ""
            raise ModuleError(f"kernel module {name}{needed_by} is neither in modules.dep nor built in")
        if name in chain:
            raise ModuleError(f"kernel module dependency cycle: {' -> '.join((*chain, name))}")
        # modules.dep lists the full closure; recursing anyway keeps the order right if it does not.
        for dep in self.deps[name]:
            self._visit(dep, order, done, (*chain, name))
        done.add(name)
        order.append(self.paths[name])
