"""Small helpers shared by the step modules: the Decimal step type, number comparison "to the
decimals written", datatable reading and lookups in API answers."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pytest_bdd import parsers

__all__ = [
    "DECIMAL_PATTERN",
    "EXTRA_TYPES",
    "parse_decimal",
    "step_parser",
    "dec",
    "matches_written",
    "assert_written",
    "table_rows",
    "flag_table",
    "find_one",
    "describe",
]

DECIMAL_PATTERN = r"-?\d+(?:\.\d+)?"


def parse_decimal(text: str) -> Decimal:
    """Step argument converter: the digits exactly as written (never through a float)."""
    return Decimal(text)


parse_decimal.pattern = DECIMAL_PATTERN  # type: ignore[attr-defined]

# `{price:Dec}` in a step pattern; `{symbol:Sym}` an upper-case market id; `{exchange:Ex}`.
EXTRA_TYPES: dict[str, Callable[[str], Any]] = {"Dec": parse_decimal}


def _symbol(text: str) -> str:
    return text


_symbol.pattern = r"[A-Z0-9]+"  # type: ignore[attr-defined]


def _exchange(text: str) -> str:
    return text.lower()


_exchange.pattern = r"binance|bybit|BINANCE|BYBIT"  # type: ignore[attr-defined]

EXTRA_TYPES["Sym"] = _symbol
EXTRA_TYPES["Ex"] = _exchange


def step_parser(pattern: str) -> parsers.parse:
    """``parsers.parse`` with the project's extra types (``Dec``, ``Sym``, ``Ex``)."""
    return parsers.parse(pattern, extra_types=EXTRA_TYPES, case_sensitive=True)


def dec(value: object) -> Decimal | None:
    """An API value (string, int or None) as a Decimal; floats are refused."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise AssertionError(f"the API returned a float {value!r}; money must be a string")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise AssertionError(f"{value!r} is not a number") from exc


def matches_written(actual: object, written: str | Decimal) -> bool:
    """True when ``actual`` rounded (half up) to the decimals of ``written`` equals it.

    ``written`` is the hand-worked figure from the feature file; writing ``95306.6357`` checks
    four decimals of a repeating average, writing ``0.00030`` checks the exact quantity."""
    expected = written if isinstance(written, Decimal) else Decimal(str(written).strip())
    value = dec(actual)
    if value is None:
        return False
    exponent = expected.as_tuple().exponent
    assert isinstance(exponent, int)
    quantum = Decimal(1).scaleb(exponent)
    return value.quantize(quantum, rounding=ROUND_HALF_UP) == expected


def assert_written(actual: object, written: str | Decimal, what: str) -> None:
    assert matches_written(actual, written), f"{what}: expected {written}, got {actual}"


def table_rows(datatable: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """A datatable whose first row is the header, as one dict per row (cells stripped)."""
    header = [cell.strip() for cell in datatable[0]]
    return [
        {key: cell.strip() for key, cell in zip(header, row, strict=True)} for row in datatable[1:]
    ]


def flag_table(datatable: Sequence[Sequence[str]]) -> dict[str, str]:
    """A two-column ``| flag | value |`` table as a mapping flag -> value."""
    rows = table_rows(datatable)
    if rows and set(rows[0]) != {"flag", "value"}:
        raise AssertionError(f"a flag table needs the columns flag | value, got {list(rows[0])}")
    return {row["flag"]: row["value"] for row in rows}


def find_one(items: Iterable[Mapping[str, Any]], what: str, **fields: object) -> dict[str, Any]:
    """The single item whose fields equal ``fields``; a clear error otherwise."""
    candidates = list(items)
    found = [
        dict(item)
        for item in candidates
        if all(str(item.get(key)).lower() == str(value).lower() for key, value in fields.items())
    ]
    if len(found) != 1:
        raise AssertionError(
            f"expected exactly one {what} with {fields}, found {len(found)} among "
            f"{[describe(item) for item in candidates]}"
        )
    return found[0]


def describe(item: Mapping[str, Any]) -> str:
    """A short one-line view of an API object for assertion messages."""
    keys = (
        "symbol", "exchange", "timeframe", "side", "type", "status", "price", "quantity",
        "outcome", "reason", "purpose", "filled_quantity", "message",
    )  # fmt: skip
    return "{" + ", ".join(f"{k}={item[k]}" for k in keys if k in item) + "}"
