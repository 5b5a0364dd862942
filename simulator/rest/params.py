"""Request-parameter parsing shared by the REST faces.

Each helper raises :class:`ParamError` naming the field and a reason code; each face turns it
into its own exchange error (Binance ``-1102``/``-1100``/``-1106``..., Bybit ``10001``).
Numbers are parsed straight into ``Decimal`` from the request text, never through ``float``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation

__all__ = [
    "ParamError",
    "MISSING",
    "MALFORMED",
    "NOT_ALLOWED",
    "INVALID_VALUE",
    "optional_text",
    "required_text",
    "choice",
    "decimal_value",
    "int_value",
    "format_decimal",
]

MISSING = "missing"
MALFORMED = "malformed"
NOT_ALLOWED = "not_allowed"
INVALID_VALUE = "invalid_value"

_DECIMAL_TEXT = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_INT_TEXT = re.compile(r"^-?[0-9]{1,19}$")


class ParamError(Exception):
    """A request parameter is missing, malformed, not allowed or has an invalid value."""

    def __init__(self, field: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{field}: {reason}{': ' + detail if detail else ''}")
        self.field = field
        self.reason = reason
        self.detail = detail


def optional_text(params: Mapping[str, str], name: str) -> str | None:
    """The parameter's text, or None when absent or empty (exchanges treat both alike)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    return value


def required_text(params: Mapping[str, str], name: str) -> str:
    value = optional_text(params, name)
    if value is None:
        raise ParamError(name, MISSING)
    return value


def choice(
    params: Mapping[str, str],
    name: str,
    allowed: Collection[str],
    *,
    default: str | None = None,
) -> str:
    """One of ``allowed`` (exact match); ``default`` when absent, else missing."""
    value = optional_text(params, name)
    if value is None:
        if default is None:
            raise ParamError(name, MISSING)
        return default
    if value not in allowed:
        raise ParamError(name, INVALID_VALUE, f"{value!r} is not one of {sorted(allowed)}")
    return value


def decimal_value(
    params: Mapping[str, str], name: str, *, required: bool = False, positive: bool = True
) -> Decimal | None:
    """A plain decimal number (digits, optional fraction; no sign, no exponent)."""
    text = optional_text(params, name)
    if text is None:
        if required:
            raise ParamError(name, MISSING)
        return None
    if not _DECIMAL_TEXT.match(text):
        raise ParamError(name, MALFORMED, f"not a plain decimal number: {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above already excludes it
        raise ParamError(name, MALFORMED, f"not a number: {text!r}") from None
    if positive and value <= 0:
        raise ParamError(name, INVALID_VALUE, "must be greater than zero")
    return value


def int_value(
    params: Mapping[str, str],
    name: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An integer parameter inside ``[minimum, maximum]``; ``default`` when absent."""
    text = optional_text(params, name)
    if text is None:
        return default
    if not _INT_TEXT.match(text):
        raise ParamError(name, MALFORMED, f"not an integer: {text!r}")
    value = int(text)
    if minimum is not None and value < minimum:
        raise ParamError(name, INVALID_VALUE, f"must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ParamError(name, INVALID_VALUE, f"must be <= {maximum}")
    return value


def format_decimal(value: Decimal, *, min_places: int = 0) -> str:
    """Fixed-point text without exponent, padded to at least ``min_places`` decimals.

    ``format_decimal(Decimal("0.001"), min_places=8) == "0.00100000"`` (Binance's style);
    values with more places than ``min_places`` keep all their significant places.
    """
    text = format(value.normalize(), "f") if value != 0 else "0"
    integer, _, fraction = text.partition(".")
    if len(fraction) < min_places:
        fraction = fraction + "0" * (min_places - len(fraction))
    return f"{integer}.{fraction}" if fraction else integer
