"""Decimal helpers: every price, quantity and amount in the project is a ``Decimal``.

``Decimal`` already raises ``TypeError`` when mixed with a ``float`` in arithmetic; the
converter below closes the remaining door (building a Decimal from a float) so that binary
floating point never enters a money value.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

__all__ = ["ZERO", "to_decimal", "round_down", "round_up", "is_multiple"]

ZERO = Decimal(0)


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert an int, a numeric string or a Decimal; refuse floats, bools and garbage.

    Raises ``ValueError`` naming ``field`` so callers can report which input was bad.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (bool, float)):
        raise ValueError(f"{field}: floats are not accepted for money, got {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: not a number: {value!r}") from None
    else:
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field}: must be finite, got {value!r}")
    return result


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` that is <= ``value`` (toward minus infinity)."""
    if step <= 0:
        raise ValueError("step must be positive")
    units = (value / step).to_integral_value(rounding=ROUND_FLOOR)
    return (units * step).quantize(step)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of ``step`` that is >= ``value``."""
    if step <= 0:
        raise ValueError("step must be positive")
    units = (value / step).to_integral_value(rounding=ROUND_CEILING)
    return (units * step).quantize(step)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is an exact multiple of ``step``."""
    return (value / step) == (value / step).to_integral_value()
