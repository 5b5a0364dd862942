"""JSON conventions of the API: Decimals as strings, times as ISO 8601 UTC strings (with
``_ms`` epoch twins), and query-time parsing of either form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["num", "dec", "iso", "parse_time", "jsonable"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def num(value: Decimal) -> str:
    """A Decimal as its exact string in positional notation (``2E-7`` -> ``0.0000002``)."""
    return format(value, "f")


def dec(value: Decimal | None) -> str | None:
    """:func:`num`, with ``None`` kept as ``None``."""
    return None if value is None else num(value)


def iso(at_ms: int | None) -> str | None:
    """UTC epoch milliseconds -> ``2026-01-01T00:00:00.000Z``."""
    if at_ms is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=at_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str, field: str) -> int:
    """Epoch milliseconds from an int string or an ISO 8601 time (naive = UTC).

    Raises ``ValueError`` naming ``field``."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{field}: expected epoch milliseconds or an ISO 8601 time, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def jsonable(value: Any) -> Any:
    """Decimals to strings, recursively (for free-form ``data``/``payload`` fields)."""
    if isinstance(value, Decimal):
        return num(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
