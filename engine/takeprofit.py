"""Take-profit, stop and unrealised-PnL maths of a group (SPEC §6.2–6.4); pure helpers.

Sign conventions:
- ``percent`` in :func:`aggregate_target` is a profit distance (>= 0): longs target above the
  average, shorts below it.
- ``percent`` in :func:`stop_price_from_percent` (``dca_grid_config.stop_loss_percent``) is a
  **positive** distance against the position: a long stops at average × (1 − p/100), a short at
  average × (1 + p/100). Zero or negative values are refused rather than guessed at.
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain import MarketRules, PositionSide, round_down
from engine.math_checks import (
    InvalidInput,
    require_non_negative,
    require_positive,
)
from engine.precision import tick_size_of

__all__ = [
    "aggregate_target",
    "price_reached_target",
    "stop_price_from_percent",
    "stop_triggered",
    "unrealised_usd",
    "unrealised_percent",
]

_HUNDRED = Decimal(100)


def _side(side: PositionSide) -> PositionSide:
    if not isinstance(side, PositionSide):
        raise InvalidInput("side", "unknown_value", f"expected long or short, got {side!r}")
    return side


def aggregate_target(
    average: Decimal, percent: Decimal, side: PositionSide, rules: MarketRules
) -> Decimal:
    """Aggregate TP price: long average × (1 + p/100), short average × (1 − p/100), rounded
    down to the tick like every price the engine produces."""
    average = require_positive(average, "average")
    percent = require_non_negative(percent, "tp_aggregate_percent")
    target = average * (1 + _side(side).sign * percent / _HUNDRED)
    price = round_down(target, tick_size_of(rules))
    if price <= 0:
        raise InvalidInput(
            "tp_aggregate_percent", "price_not_positive", f"{percent}% from {average} gives {price}"
        )
    return price


def price_reached_target(mark: Decimal, target: Decimal, side: PositionSide) -> bool:
    """Long: mark >= target; short: mark <= target."""
    mark = require_positive(mark, "mark")
    target = require_positive(target, "target")
    return mark >= target if _side(side) is PositionSide.LONG else mark <= target


def stop_price_from_percent(average: Decimal, percent: Decimal, side: PositionSide) -> Decimal:
    """Group stop from ``stop_loss_percent`` (a positive distance against the position):
    long average × (1 − p/100), short average × (1 + p/100). Not rounded: it is a trigger
    level compared with the mark, never an order price."""
    average = require_positive(average, "average")
    percent = require_positive(percent, "stop_loss_percent")
    if _side(side) is PositionSide.LONG and percent >= _HUNDRED:
        raise InvalidInput("stop_loss_percent", "too_large", f"must be < 100 for a long: {percent}")
    return average * (1 - side.sign * percent / _HUNDRED)


def stop_triggered(mark: Decimal, stop: Decimal, side: PositionSide) -> bool:
    """Long: mark <= stop; short: mark >= stop."""
    mark = require_positive(mark, "mark")
    stop = require_positive(stop, "stop")
    return mark <= stop if _side(side) is PositionSide.LONG else mark >= stop


def unrealised_usd(
    average: Decimal, mark: Decimal, quantity: Decimal, side: PositionSide
) -> Decimal:
    """(mark − average) × quantity, × −1 for shorts (SPEC §6.2)."""
    average = require_positive(average, "average")
    mark = require_positive(mark, "mark")
    quantity = require_non_negative(quantity, "quantity")
    return (mark - average) * quantity * _side(side).sign


def unrealised_percent(average: Decimal, mark: Decimal, side: PositionSide) -> Decimal:
    """Unrealised USD / (average × quantity) × 100, which is independent of the quantity:
    (mark − average) / average × 100, × −1 for shorts."""
    average = require_positive(average, "average")
    mark = require_positive(mark, "mark")
    return (mark - average) / average * _HUNDRED * _side(side).sign
