"""Small typed readers for command params; each failure is an InvalidParams naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from teeth_agent.errors import InvalidParams

T = TypeVar("T")
_MISSING: Any = object()


def _get(params: Mapping[str, Any], key: str, default: Any, prefix: str) -> Any:
    if key in params:
        return params[key]
    if default is _MISSING:
        raise InvalidParams(prefix + key, "is required")
    return default


def get_str(params: Mapping[str, Any], key: str, default: Any = _MISSING, *, prefix: str = "") -> Any:
    value = _get(params, key, default, prefix)
    if value is not default and not isinstance(value, str):
        raise InvalidParams(prefix + key, f"expected a string, got {type(value).__name__}")
    return value


def get_bool(params: Mapping[str, Any], key: str, default: Any = _MISSING, *, prefix: str = "") -> Any:
    value = _get(params, key, default, prefix)
    if value is not default and not isinstance(value, bool):
        raise InvalidParams(prefix + key, f"expected true or false, got {type(value).__name__}")
    return value


def get_int(
    params: Mapping[str, Any],
    key: str,
    default: Any = _MISSING,
    *,
    minimum: int | None = None,
    prefix: str = "",
) -> Any:
    value = _get(params, key, default, prefix)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams(prefix + key, f"expected an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise InvalidParams(prefix + key, f"must be >= {minimum}")
    return value


def get_choice(
    params: Mapping[str, Any],
    key: str,
    choices: tuple[str, ...],
    default: Any = _MISSING,
    *,
    prefix: str = "",
) -> Any:
    value = get_str(params, key, default, prefix=prefix)
    if value is not default and value not in choices:
        raise InvalidParams(prefix + key, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def get_str_list(params: Mapping[str, Any], key: str, default: Any = _MISSING, *, prefix: str = "") -> Any:
    value = _get(params, key, default, prefix)
    if value is default:
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParams(prefix + key, "expected a list of strings")
    return tuple(value)


def get_object(params: Mapping[str, Any], key: str, default: Any = _MISSING, *, prefix: str = "") -> Any:
    value = _get(params, key, default, prefix)
    if value is not default and not isinstance(value, dict):
        raise InvalidParams(prefix + key, f"expected an object, got {type(value).__name__}")
    return value
