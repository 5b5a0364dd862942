"""The DCA grid of one pyramid (SPEC §4): leg prices, quantities, take-profit prices and the
all-or-nothing minimum check that rejects a pyramid before any order is sent.

Leg 0 is the base entry (market, or a limit at the signal price; a limit at
entry × (1 ± gap/100) when the first level's gap is not 0). Legs 1..n are resting limits
priced from leg 0's average fill price F: long F × (1 + gap/100), short F × (1 − gap/100).
Quantity of leg i = C × weight_i / 100 / price_i. Prices round down to the tick, quantities
down to the step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from engine.domain import MarketRules, OrderType, PositionSide, Reason, round_down
from engine.math_checks import (
    InvalidInput,
    require_decimal,
    require_non_negative,
    require_positive,
)
from engine.precision import (
    check_minimums,
    floor_quotient,
    min_notional_of,
    min_qty_of,
    step_size_of,
    tick_size_of,
)

__all__ = [
    "LevelLike",
    "LegPlan",
    "GridRejection",
    "plan_leg0",
    "plan_dca_legs",
    "check_legs",
    "validate_pyramid",
    "tp_price",
]

_HUNDRED = Decimal(100)


class LevelLike(Protocol):
    """One grid level (``engine.config.GridLevel`` or anything with the same attributes)."""

    @property
    def gap_percent(self) -> Decimal: ...

    @property
    def weight_percent(self) -> Decimal: ...

    @property
    def tp_percent(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class LegPlan:
    """One planned entry order of a pyramid.

    ``price`` is ``None`` for a market order; ``reference_price`` is the price the quantity was
    sized with (the limit price, or the signal's entry price for a market leg 0).
    """

    index: int
    price: Decimal | None
    quantity: Decimal
    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal
    reference_price: Decimal | None = None

    @property
    def sizing_price(self) -> Decimal:
        """The limit price, else the reference price of a market leg."""
        chosen = self.price if self.price is not None else self.reference_price
        if chosen is None:
            raise InvalidInput(
                f"legs[{self.index}].reference_price", "missing", "market leg without a price"
            )
        return chosen

    @property
    def notional(self) -> Decimal:
        """quantity × sizing price (quote currency)."""
        return self.quantity * self.sizing_price

    @property
    def is_market(self) -> bool:
        return self.price is None


@dataclass(frozen=True, slots=True)
class GridRejection:
    """Why a pyramid cannot be placed: the first leg that breaks a minimum."""

    reason: Reason
    leg_index: int
    message: str


def _check_levels(levels: Sequence[LevelLike]) -> None:
    if len(levels) == 0:
        raise InvalidInput("levels", "empty", "a grid needs at least one level")
    for index, level in enumerate(levels):
        require_decimal(level.gap_percent, f"levels[{index}].gap_percent")
        require_non_negative(level.weight_percent, f"levels[{index}].weight_percent")
        require_decimal(level.tp_percent, f"levels[{index}].tp_percent")


def _check_side(side: PositionSide) -> PositionSide:
    if not isinstance(side, PositionSide):
        raise InvalidInput("side", "unknown_value", f"expected long or short, got {side!r}")
    return side


def _gap_price(
    base: Decimal, level: LevelLike, index: int, side: PositionSide, rules: MarketRules
) -> Decimal:
    """base × (1 + gap/100) for longs, base × (1 − gap/100) for shorts, down to the tick."""
    factor = 1 + side.sign * level.gap_percent / _HUNDRED
    price = round_down(base * factor, tick_size_of(rules))
    if price <= 0:
        raise InvalidInput(
            f"levels[{index}].gap_percent",
            "price_not_positive",
            f"gap {level.gap_percent}% from {base} gives price {price}",
        )
    return price


def _leg(
    index: int,
    level: LevelLike,
    capital: Decimal,
    price: Decimal | None,
    sizing_price: Decimal,
    rules: MarketRules,
) -> LegPlan:
    # quantity = C × weight / 100 / price, rounded down to the step
    quantity = floor_quotient(
        capital * level.weight_percent / _HUNDRED, sizing_price, step_size_of(rules)
    )
    return LegPlan(
        index=index,
        price=price,
        quantity=quantity,
        gap_percent=level.gap_percent,
        weight_percent=level.weight_percent,
        tp_percent=level.tp_percent,
        reference_price=sizing_price,
    )


def plan_leg0(
    capital: Decimal,
    levels: Sequence[LevelLike],
    entry_price: Decimal,
    side: PositionSide,
    rules: MarketRules,
    entry_order_type: str,
) -> LegPlan:
    """Leg 0 of a pyramid (SPEC §4).

    First level gap 0: a market order (``price`` None, sized at ``entry_price``) or, with
    ``entry_order_type`` ``limit``, a limit at ``entry_price`` rounded down to the tick.
    Gap not 0: a limit at entry × (1 ± gap/100) whatever ``entry_order_type``.
    """
    capital = require_positive(capital, "capital")
    entry_price = require_positive(entry_price, "entry_price")
    side = _check_side(side)
    _check_levels(levels)
    if entry_order_type not in (OrderType.MARKET, OrderType.LIMIT):
        raise InvalidInput(
            "entry_order_type",
            "unknown_value",
            f"expected 'market' or 'limit', got {entry_order_type!r}",
        )
    first = levels[0]
    if first.gap_percent != 0:
        price: Decimal | None = _gap_price(entry_price, first, 0, side, rules)
    elif entry_order_type == OrderType.LIMIT:
        price = round_down(entry_price, tick_size_of(rules))
        if price <= 0:
            raise InvalidInput("entry_price", "below_tick", f"{entry_price} rounds to 0")
    else:
        price = None
    sizing_price = price if price is not None else entry_price
    return _leg(0, first, capital, price, sizing_price, rules)


def plan_dca_legs(
    capital: Decimal,
    levels: Sequence[LevelLike],
    leg0_fill_price: Decimal,
    side: PositionSide,
    rules: MarketRules,
) -> tuple[LegPlan, ...]:
    """Legs 1..n, priced from leg 0's average fill price F (SPEC §4)."""
    capital = require_positive(capital, "capital")
    leg0_fill_price = require_positive(leg0_fill_price, "leg0_fill_price")
    side = _check_side(side)
    _check_levels(levels)
    legs = []
    for index in range(1, len(levels)):
        level = levels[index]
        price = _gap_price(leg0_fill_price, level, index, side, rules)
        legs.append(_leg(index, level, capital, price, price, rules))
    return tuple(legs)


def check_legs(legs: Sequence[LegPlan], rules: MarketRules) -> GridRejection | None:
    """The first leg (in order) that breaks min_qty or min_notional, or ``None``."""
    for leg in legs:
        reason = check_minimums(leg.quantity, leg.sizing_price, rules)
        if reason is Reason.BELOW_MIN_QTY:
            return GridRejection(
                reason,
                leg.index,
                f"leg {leg.index}: quantity {leg.quantity} is below min_qty {min_qty_of(rules)}",
            )
        if reason is Reason.BELOW_MIN_NOTIONAL:
            return GridRejection(
                reason,
                leg.index,
                f"leg {leg.index}: notional {leg.notional} is below min_notional "
                f"{min_notional_of(rules)}",
            )
    return None


def validate_pyramid(
    capital: Decimal,
    levels: Sequence[LevelLike],
    entry_price: Decimal,
    side: PositionSide,
    rules: MarketRules,
    entry_order_type: str,
) -> GridRejection | None:
    """Size every leg as if leg 0 filled at its sizing price and return the first failure,
    so a pyramid with any leg below the minimums is rejected before any order is sent."""
    leg0 = plan_leg0(capital, levels, entry_price, side, rules, entry_order_type)
    legs = (leg0, *plan_dca_legs(capital, levels, leg0.sizing_price, side, rules))
    return check_legs(legs, rules)


def tp_price(
    fill_price: Decimal, tp_percent: Decimal, side: PositionSide, rules: MarketRules
) -> Decimal:
    """Per-leg take-profit: long fill × (1 + tp/100), short fill × (1 − tp/100), down to tick."""
    fill_price = require_positive(fill_price, "fill_price")
    tp_percent = require_non_negative(tp_percent, "tp_percent")
    side = _check_side(side)
    price = round_down(fill_price * (1 + side.sign * tp_percent / _HUNDRED), tick_size_of(rules))
    if price <= 0:
        raise InvalidInput(
            "tp_percent", "price_not_positive", f"tp {tp_percent}% from {fill_price} gives {price}"
        )
    return price
