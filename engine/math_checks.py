"""Input checks shared by the engine's pure maths (precision, grid, take-profit, offset, ranking).

Bad input is never dropped silently: it raises :class:`InvalidInput`, which names the field and
carries a short reason code so callers can report both.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["InvalidInput", "require_decimal", "require_positive", "require_non_negative"]


class InvalidInput(ValueError):
    """A value handed to the engine's maths is unusable.

    ``field`` names the input (``"levels[1].gap_percent"``, ``"rules.tick_size"``...);
    ``code`` is a reason code (``"not_positive"``, ``"negative"``, ``"missing"``,
    ``"not_decimal"``, ``"unknown_value"``, ``"empty"``, ``"duplicate"``).
    """

    def __init__(self, field: str, code: str, detail: str) -> None:
        super().__init__(f"{field}: {detail} ({code})")
        self.field = field
        self.code = code
        self.detail = detail


def require_decimal(value: object, field: str) -> Decimal:
    """Return ``value`` when it is a finite ``Decimal``; floats and other types are refused."""
    if not isinstance(value, Decimal):
        raise InvalidInput(field, "not_decimal", f"expected a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise InvalidInput(field, "not_finite", f"must be finite, got {value}")
    return value


def require_positive(value: object, field: str) -> Decimal:
    """Return ``value`` when it is a Decimal > 0."""
    number = require_decimal(value, field)
    if number <= 0:
        raise InvalidInput(field, "not_positive", f"must be > 0, got {number}")
    return number


def require_non_negative(value: object, field: str) -> Decimal:
    """Return ``value`` when it is a Decimal >= 0."""
    number = require_decimal(value, field)
    if number < 0:
        raise InvalidInput(field, "negative", f"must be >= 0, got {number}")
    return number
