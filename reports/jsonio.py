"""Canonical JSON for reports: Decimals as exact JSON numbers, stable layout, no floats.

Numbers are written as JSON numbers (the seed's sample report does so) in plain positional
notation, digit for digit what the ``Decimal`` holds. Read them back with :func:`loads`, which
parses every non-integer number into a ``Decimal``, so nothing passes through binary floating
point. Key order is the order the report models declare; the same document always gives the
same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

__all__ = ["WALL_CLOCK_KEYS", "dumps", "loads", "strip_wall_clock"]

# Top-level keys whose values come from the wall clock. Everything else in a report is a
# function of the run's inputs, so two runs of the same scenario differ only under these keys.
WALL_CLOCK_KEYS = ("test_started", "test_completed", "duration_seconds", "wall_clock")


def dumps(document: Any) -> str:
    """Serialise ``document`` (dicts, lists, str, int, bool, None, Decimal) as indented JSON.

    Floats are refused (``TypeError`` naming the path), so a float can never slip into a
    report; non-finite Decimals are refused too.
    """
    parts: list[str] = []
    _write(document, parts, 0, "$")
    parts.append("\n")
    return "".join(parts)


def loads(text: str | bytes) -> Any:
    """Parse report JSON; non-integer numbers become ``Decimal``, NaN/Infinity are refused."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def strip_wall_clock(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a report without its wall-clock keys, for comparing two runs."""
    return {key: value for key, value in document.items() if key not in WALL_CLOCK_KEYS}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"report JSON: {name} is not a valid number")


def _write(value: Any, parts: list[str], depth: int, path: str) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(str(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{path}: non-finite number {value}")
        parts.append(_decimal_text(value))
    elif isinstance(value, float):
        raise TypeError(f"{path}: float {value!r} in a report; use Decimal")
    elif isinstance(value, str):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Mapping):
        _write_object(value, parts, depth, path)
    elif isinstance(value, Sequence):
        _write_array(value, parts, depth, path)
    else:
        raise TypeError(f"{path}: cannot serialise {type(value).__name__}")


def _write_object(value: Mapping[Any, Any], parts: list[str], depth: int, path: str) -> None:
    if not value:
        parts.append("{}")
        return
    inner = "  " * (depth + 1)
    parts.append("{\n")
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"{path}: object key {key!r} is not a string")
        if index:
            parts.append(",\n")
        parts.append(inner + json.dumps(key, ensure_ascii=False) + ": ")
        _write(item, parts, depth + 1, f"{path}.{key}")
    parts.append("\n" + "  " * depth + "}")


def _write_array(value: Sequence[Any], parts: list[str], depth: int, path: str) -> None:
    if not value:
        parts.append("[]")
        return
    inner = "  " * (depth + 1)
    parts.append("[\n")
    for index, item in enumerate(value):
        if index:
            parts.append(",\n")
        parts.append(inner)
        _write(item, parts, depth + 1, f"{path}[{index}]")
    parts.append("\n" + "  " * depth + "]")


def _decimal_text(value: Decimal) -> str:
    # JSON has no use for a negative zero; copy_abs keeps the zero's exponent (0.00 stays 0.00).
    return format(value.copy_abs() if value.is_zero() else value, "f")
