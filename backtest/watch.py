"""What the fast replay must not skip past: the price levels at which an engine's decision
could change, read from the engine's public group views.

For every open group the engine watches (SPEC §6.3–6.4, §9):

- price triggers on its own market: stop (long: mark <= stop), group aggregate TP (long:
  mark >= target), pyramid aggregate TPs and engine-watched per-leg TPs (mirrored for
  shorts), computed with the engine's own pure functions (``engine.takeprofit``);
- the risk engine (SPEC §9): the facts :mod:`backtest.risk_scan` needs to find the first
  risk cycle at which an offset might happen (loss threshold, average, closable part, fees).

Price triggers become a band per market, in the venue's tick units. Stopping is always safe:
the fast replay then does exactly what the step replay does at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.config import UserConfig
from engine.domain import ZERO, MarketRules, PositionSide, round_down, round_up
from engine.takeprofit import aggregate_target, stop_price_from_percent
from engine.views import GroupView

__all__ = [
    "GroupWatch",
    "Band",
    "group_watch",
    "to_ticks_below",
    "to_ticks_above",
]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Band:
    """A mark at or below ``low`` or at or above ``high`` may change a decision (``None``:
    no level on that side). Prices are Decimals."""

    low: Decimal | None = None
    high: Decimal | None = None

    def widened_by(self, other: Band) -> Band:
        """The narrower band satisfying both (the highest low, the lowest high)."""
        low = (
            self.low
            if other.low is None
            else other.low
            if self.low is None
            else max(self.low, other.low)
        )
        high = (
            self.high
            if other.high is None
            else other.high
            if self.high is None
            else min(self.high, other.high)
        )
        return Band(low, high)


@dataclass(frozen=True, slots=True)
class GroupWatch:
    """The facts about one open group that the fast replay's bands are made of."""

    group_id: str
    exchange: str
    symbol: str
    side: PositionSide
    status: str
    open_quantity: Decimal
    open_cost: Decimal  # cost basis of the open quantity (from the view's average)
    triggers: Band  # price triggers (stop, aggregate and watched take-profits)
    loser_price: Decimal | None  # long: a loser at or below; short: at or above
    average: Decimal | None
    closable: Decimal  # open quantity rounded down to the step (what a close can carry)
    fee_rate: Decimal
    notional_from: Decimal | None  # its closable part reaches min_close_notional from here
    smallest_quantity: Decimal  # the smallest close it could send: max(min_qty, step)
    timer_expires_at_ms: int | None
    old_enough_at_ms: int
    risk_blocked: bool
    resting_entry_notional: Decimal
    realised_usd: Decimal

    @property
    def settled(self) -> bool:
        """Nothing is waiting: a closing group waits for a retry or a cancel."""
        return self.status != "closing"


def _pyramid_average(view: GroupView, index: int) -> Decimal | None:
    pyramid = view.pyramids[index]
    quantity = sum((leg.open_quantity for leg in pyramid.legs), ZERO)
    if quantity == 0:
        return None
    cost = sum((leg.open_quantity * (leg.average_fill_price or ZERO) for leg in pyramid.legs), ZERO)
    return cost / quantity


def _price_triggers(view: GroupView, config: UserConfig, rules: MarketRules) -> Band:
    grid = config.dca_grid_config
    side = PositionSide(view.side)
    long = side is PositionSide.LONG
    average = view.average_entry
    lows: list[Decimal] = []
    highs: list[Decimal] = []

    def against(level: Decimal) -> None:  # fires when the price moves against the position
        (lows if long else highs).append(level)

    def towards(level: Decimal) -> None:  # fires when the price moves in its favour
        (highs if long else lows).append(level)

    if view.stop_price is not None:
        against(view.stop_price)
    elif grid.stop_loss_percent is not None and average is not None:
        against(stop_price_from_percent(average, grid.stop_loss_percent, side))
    percent = grid.tp_aggregate_percent
    if view.take_profit_price is not None:
        towards(view.take_profit_price)
    elif view.tp_mode in ("aggregate", "hybrid") and percent > 0 and average is not None:
        towards(aggregate_target(average, percent, side, rules))
    if view.tp_mode == "pyramid_aggregate" and percent > 0:
        for index, pyramid in enumerate(view.pyramids):
            if pyramid.status == "aggregate_closed":
                continue
            pyramid_average = _pyramid_average(view, index)
            if pyramid_average is not None:
                towards(aggregate_target(pyramid_average, percent, side, rules))
    if view.tp_mode in ("per_leg", "hybrid") and grid.tp_order_type == "market":
        for pyramid in view.pyramids:
            if pyramid.status == "aggregate_closed":
                continue
            for leg in pyramid.legs:
                if leg.open_quantity > 0 and leg.tp_price is not None:
                    towards(leg.tp_price)
    return Band(max(lows) if lows else None, min(highs) if highs else None)


def group_watch(view: GroupView, config: UserConfig, rules: MarketRules) -> GroupWatch:
    """The watch of one open group from its view and the user's config (a backtest never
    changes the config, so the group's frozen settings are the config's)."""
    side = PositionSide(view.side)
    average = view.average_entry
    risk = config.risk_config
    threshold = risk.loss_threshold_percent
    loser_price = None
    if average is not None and view.open_quantity > 0:
        loser_price = average * (1 + side.sign * threshold / _HUNDRED)
    resting = ZERO
    for pyramid in view.pyramids:
        for leg in pyramid.legs:
            if leg.status in ("resting", "partially_filled") and leg.price is not None:
                resting += (leg.quantity - leg.filled_quantity) * leg.price
    closable = ZERO
    notional_from = None
    step, minimum, fee = rules.step_size, rules.min_qty or ZERO, rules.taker_fee
    smallest = ZERO
    if step is not None and step > 0:
        smallest = max(round_up(minimum, step), step)
        if view.open_quantity > 0:
            closable = round_down(view.open_quantity, step)
            if closable > 0 and closable >= minimum:
                notional_from = risk.min_close_notional / closable
    old_enough = view.created_at_ms
    if risk.use_trade_age_filter:
        old_enough += risk.age_threshold_minutes * 60_000
    return GroupWatch(
        group_id=view.group_id,
        exchange=view.exchange,
        symbol=view.symbol,
        side=side,
        status=view.status,
        open_quantity=view.open_quantity,
        open_cost=ZERO if average is None else average * view.open_quantity,
        triggers=_price_triggers(view, config, rules),
        loser_price=loser_price,
        average=average if view.open_quantity > 0 else None,
        closable=closable,
        fee_rate=fee,
        notional_from=notional_from,
        smallest_quantity=smallest,
        timer_expires_at_ms=view.timer_expires_at_ms,
        old_enough_at_ms=old_enough,
        risk_blocked=view.risk_blocked,
        resting_entry_notional=resting,
        realised_usd=view.realised_usd,
    )


def to_ticks_below(level: Decimal, tick: Decimal, margin: int = 0) -> int:
    """Largest tick count whose price is <= ``level``, plus ``margin`` ticks (a mark at or
    below the returned tick count may fire a "price <= level" trigger)."""
    return int((level / tick).to_integral_value(rounding=ROUND_FLOOR)) + margin


def to_ticks_above(level: Decimal, tick: Decimal, margin: int = 0) -> int:
    """Smallest tick count whose price is >= ``level``, minus ``margin`` ticks."""
    return int((level / tick).to_integral_value(rounding=ROUND_CEILING)) - margin
