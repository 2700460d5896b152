"""Typed reads from parsed TOML that name the file, the field and what was expected on bad input.

Profiles and scenarios are written by hand; a mistake must be reported as
`profiles/x.toml: disks[2].size: expected a size like 960G or an integer of bytes, got 'big'`,
never as a KeyError traceback.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?)B?\s*$", re.IGNORECASE)
_MISSING = object()


class SpecError(ValueError):
    """A malformed profile or scenario: names the file, the field and what was expected."""

    def __init__(self, file: str, field: str, expected: str, got: object = _MISSING) -> None:
        self.file = file
        self.field = field
        self.expected = expected
        got_text = "" if got is _MISSING else f", got {got!r}"
        super().__init__(f"{file}: {field}: expected {expected}{got_text}")


def load_toml(path: Path) -> Reader:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(str(path), "(file)", "an existing file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "(syntax)", f"valid TOML ({exc})") from None
    return Reader(str(path), "", data)


def parse_size(text: str) -> int | None:
    """'960G' -> 960*10**9, '4GiB' -> 4*2**30, '512' -> 512; None when not a size."""
    m = _SIZE.match(text)
    if not m:
        return None
    number, unit, binary = m.groups()
    power = "KMGTP".find(unit.upper()) + 1 if unit else 0
    base = 1024 if binary else 1000
    return int(float(number) * base**power)


class Reader:
    """A view of one TOML table that remembers where it came from."""

    def __init__(self, file: str, prefix: str, data: Mapping[str, Any]) -> None:
        self.file = file
        self.prefix = prefix
        self.data = data

    def where(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, expected: str, got: object = _MISSING) -> NoReturn:
        raise SpecError(self.file, self.where(key), expected, got)

    def has(self, key: str) -> bool:
        return key in self.data

    def check_keys(self, allowed: set[str]) -> None:
        """Reject typos: an unknown key is an error, not silently ignored."""
        for key in self.data:
            if key not in allowed:
                self.fail(key, "one of " + ", ".join(sorted(allowed)), "an unknown field")

    def _get(self, key: str, default: object) -> object:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.fail(key, "a value (the field is required)")
        return default

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            self.fail(key, "a string", value)
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.text(key, default)
        if value is not default and value not in choices:
            self.fail(key, "one of " + ", ".join(choices), value)
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(key, "an integer", value)
        if minimum is not None and value < minimum:
            self.fail(key, f"an integer >= {minimum}", value)
        return value

    def number(self, key: str, default: Any = _MISSING, *, positive: bool = False) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(key, "a number", value)
        if positive and not value > 0:
            self.fail(key, "a number > 0", value)
        return float(value)

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            self.fail(key, "true or false", value)
        return value

    def size(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        parsed = parse_size(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail(key, "a size like 960G, 4GiB or an integer of bytes", value)
        return parsed

    def str_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "a list of strings", value)
        return tuple(value)

    def table(self, key: str, *, required: bool = False) -> Reader:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.fail(key, "a table (the section is required)")
            return Reader(self.file, self.where(key), {})
        if not isinstance(value, dict):
            self.fail(key, "a table", value)
        return Reader(self.file, self.where(key), value)

    def tables(self, key: str) -> Iterator[Reader]:
        """An array of tables ([[key]]); missing means empty."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, "an array of tables ([[" + key + "]])", value)
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(f"{key}[{i}]", "a table", item)
            yield Reader(self.file, f"{self.where(key)}[{i}]", item)

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())
