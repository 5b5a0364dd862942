"""Pure price arithmetic of the flow: protective levels, leg sizes for the risk gate, where
to move the market to hit a level, and the simulator path text that moves it there.

Every price is rounded down to the tick (SPEC §4), except an exit target, which is rounded
*past* the level it must cross (up for a rising target, down for a falling one) so that the
market really trades through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.domain import ZERO, round_down, round_up

__all__ = [
    "MarketInfo",
    "LegSize",
    "protective_levels",
    "leg_sizes",
    "exit_target",
    "path_yaml",
    "weighted_average",
]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """A symbol's filters as the service reports them (``POST /precision/refresh``)."""

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal


@dataclass(frozen=True, slots=True)
class LegSize:
    index: int
    price: Decimal
    quantity: Decimal
    notional: Decimal


def protective_levels(
    price: Decimal, side: str, tp_percent: Decimal, sl_percent: Decimal, tick: Decimal
) -> tuple[Decimal, Decimal]:
    """(take-profit, stop) ``tp_percent``/``sl_percent`` away from ``price`` on the side's
    profitable / losing side, each rounded down to the tick."""
    sign = 1 if side == "long" else -1
    take_profit = round_down(price * (1 + sign * tp_percent / _HUNDRED), tick)
    stop = round_down(price * (1 - sign * sl_percent / _HUNDRED), tick)
    return take_profit, stop


def leg_sizes(
    capital: Decimal,
    price: Decimal,
    side: str,
    levels: Sequence[Mapping[str, Decimal]],
    market: MarketInfo,
) -> list[LegSize]:
    """The grid's legs for ``capital`` at ``price`` (SPEC §4: leg ``i`` at
    ``price × (1 ± gap/100)`` rounded down to the tick, quantity ``capital × weight / 100 /
    leg price`` rounded down to the step). Used by the flow's risk gate before it places a
    trade; the engine sizes the real orders itself."""
    sign = 1 if side == "long" else -1
    sizes = []
    for index, level in enumerate(levels):
        leg_price = round_down(
            price * (1 + sign * level["gap_percent"] / _HUNDRED), market.tick_size
        )
        if leg_price <= 0:
            raise ValueError(f"levels[{index}].gap_percent: leg price {leg_price} is not positive")
        quantity = round_down(
            capital * level["weight_percent"] / _HUNDRED / leg_price, market.step_size
        )
        sizes.append(LegSize(index, leg_price, quantity, quantity * leg_price))
    return sizes


def exit_target(level: Decimal, rising: bool, overshoot_percent: Decimal, tick: Decimal) -> Decimal:
    """Where to move the market so that it trades through ``level``: ``overshoot_percent``
    beyond it, rounded away from the level (up when rising, down when falling)."""
    if rising:
        return round_up(level * (1 + overshoot_percent / _HUNDRED), tick)
    return round_down(level * (1 - overshoot_percent / _HUNDRED), tick)


def _duration(seconds: int) -> str:
    return f"{seconds}s"


def path_yaml(
    start_prices: Mapping[str, Decimal],
    targets: Mapping[str, Decimal],
    over_seconds: int,
    step_seconds: int,
) -> str:
    """A simulator path (docs/simulator.md's YAML language) that starts every target symbol
    at its current price and moves them all linearly, in parallel, to their targets.

    The start prices are written out because a path starts symbols it does not price at the
    seed table, not where the market stands."""
    if not targets:
        raise ValueError("targets: at least one symbol to move")
    missing = sorted(set(targets) - set(start_prices))
    if missing:
        raise ValueError(f"start_prices: no current price for {missing}")
    prices = ", ".join(f"{symbol}: {start_prices[symbol]}" for symbol in sorted(targets))
    moves = ", ".join(
        f"{symbol}: {targets[symbol]} over {_duration(over_seconds)}" for symbol in sorted(targets)
    )
    return f"step: {_duration(step_seconds)}\nprices: {{{prices}}}\ntimeline:\n  - {{{moves}}}\n"


def weighted_average(parts: Sequence[tuple[Decimal, Decimal]]) -> tuple[Decimal, Decimal]:
    """(total quantity, exact quote-weighted average price) of ``(quantity, price)`` parts."""
    quantity = sum((q for q, _ in parts), ZERO)
    if quantity <= 0:
        raise ValueError("parts: no quantity to average")
    quote = sum((q * p for q, p in parts), ZERO)
    return quantity, quote / quantity
