"""Number and time formatting shared by the report builders.

Metric functions return exact ``Decimal`` results (full context precision). The builders
round only what a division produced, once, here: ratios, percentages and Sharpe-like figures
to 6 decimal places, money to 8 (half-even), then drop trailing zeros so the JSON reads
``1.9622735`` rather than ``1.96227350``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
_ONE = Decimal(1)
_EPOCH = datetime(1970, 1, 1)  # naive on purpose: UTC wall time of epoch ms


def tidy(value: Decimal, quantum: Decimal) -> Decimal:
    """Round half-even to ``quantum`` and strip trailing zeros (``-0`` becomes ``0``)."""
    rounded = value.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if rounded == rounded.to_integral_value():
        # integral: plain digits (normalize() would turn 100 into 1E+2, and -0 into -0)
        return rounded.quantize(_ONE) if rounded else Decimal(0)
    return rounded.normalize()


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
    # naive epoch + integer timedelta: exact (no float division) and the fastest spelling
    return (_EPOCH + timedelta(milliseconds=at_ms)).isoformat(timespec="milliseconds") + "Z"


def iso_wall(moment: datetime) -> str:
    """A wall-clock instant as ISO 8601 UTC with microseconds (the seed's precision)."""
    if moment.tzinfo is None:
        raise ValueError("wall-clock time must be timezone-aware (UTC)")
    utc = moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")
