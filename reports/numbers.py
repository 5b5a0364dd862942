"""Number and time formatting shared by the report builders.

Metric functions return exact ``Decimal`` results (full context precision). The builders
round only what a division produced, once, here: ratios, percentages and Sharpe-like figures
to 6 decimal places, money to 8 (half-even), then drop trailing zeros so the JSON reads
``1.9622735`` rather than ``1.96227350``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "RATIO_QUANTUM",
    "MONEY_QUANTUM",
    "SECONDS_QUANTUM",
    "tidy",
    "ratio",
    "money",
    "opt_ratio",
    "opt_money",
    "seconds",
    "iso_ms",
    "iso_wall",
]

RATIO_QUANTUM = Decimal("0.000001")
MONEY_QUANTUM = Decimal("0.00000001")
SECONDS_QUANTUM = Decimal("0.001")


def tidy(value: Decimal, quantum: Decimal) -> Decimal:
    """Round half-even to ``quantum`` and strip trailing zeros (``-0`` becomes ``0``)."""
    rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN).normalize()
    if rounded.is_zero():
        return Decimal(0)
    if rounded.as_tuple().exponent > 0:  # type: ignore[operator]
        # normalize() turns 100 into 1E+2; give it back its integer exponent.
        rounded = rounded.quantize(Decimal(1))
    return rounded


def ratio(value: Decimal) -> Decimal:
    return tidy(value, RATIO_QUANTUM)


def money(value: Decimal) -> Decimal:
    return tidy(value, MONEY_QUANTUM)


def opt_ratio(value: Decimal | None) -> Decimal | None:
    return None if value is None else ratio(value)


def opt_money(value: Decimal | None) -> Decimal | None:
    return None if value is None else money(value)


def seconds(value: Decimal) -> Decimal:
    return tidy(value, SECONDS_QUANTUM)


def iso_ms(at_ms: int) -> str:
    """Engine time (UTC epoch ms) as ISO 8601 with milliseconds: ``2026-02-04T10:15:26.123Z``."""
    return _from_ms(at_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_wall(moment: datetime) -> str:
    """A wall-clock instant as ISO 8601 UTC with microseconds (the seed's precision)."""
    if moment.tzinfo is None:
        raise ValueError("wall-clock time must be timezone-aware (UTC)")
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _from_ms(at_ms: int) -> datetime:
    # Integer arithmetic: float division of epoch ms can be off by a microsecond.
    whole, millis = divmod(at_ms, 1000)
    return datetime.fromtimestamp(whole, tz=UTC).replace(microsecond=millis * 1000)
