"""Documents the tree cites are documents the tree holds.

Code and tests point readers at docs/protocol.md and docs/architecture.md; a citation of a page the
repository does not carry (as the design notes' "section 3" once was) sends a newcomer nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ("teeth_agent", "teeth_endpoint", "simulator", "testbed", "benchmarks", "tests", "elements", "docs",
         "mk", "deps")
FILES = ("README.md", "Makefile", "pyproject.toml")
SUFFIXES = {".py", ".md", ".rst", ".toml", ".txt", ".mk", ".sh", ".cfg", ""}
# A page name ending in .md, optionally under a directory: docs/protocol.md, README.md, ../x/DESIGN.md
CITED = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.md)\b")


def text_files() -> list[Path]:
    out = [REPO / name for name in FILES]
    for tree in TREES:
        out += [p for p in sorted((REPO / tree).rglob("*")) if p.is_file() and p.suffix in SUFFIXES
                and "data" not in p.relative_to(REPO).parts]
    return [p for p in out if p.exists()]


def held(page: str) -> bool:
    """Cited by path from the repository root, or by bare name of a page the repository has somewhere."""
    if (REPO / page).is_file():
        return True
    return "/" not in page and any(REPO.glob(f"*/**/{page}"))


def test_every_cited_markdown_page_is_in_the_repository() -> None:
    missing: list[str] = []
    for path in text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for lineno, line in enumerate(text.splitlines(), 1):
            missing += [f"{path.relative_to(REPO)}:{lineno} cites {page}"
                        for page in CITED.findall(line) if not held(page)]
    assert missing == []

