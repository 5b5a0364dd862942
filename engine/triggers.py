"""What a new mark price triggers (SPEC §6.3, §6.4): stops, aggregate take-profits (group and
per pyramid) and per-leg take-profits watched by the engine (``tp_order_type: market``).

Order of precedence on one price: stop, then the group aggregate TP, then pyramid aggregate
TPs, then per-leg market TPs. A group exit (stop or aggregate) makes the group ``closing``,
after which nothing else triggers on it: the first trigger wins.
"""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import group_sellable, leg_sellable
from engine.closing import begin_close, close_leg, close_pyramid, live_orders
from engine.context import Context
from engine.domain import ZERO, Category, GroupStatus, OrderPurpose, Severity
from engine.domain.events import PriceMoved
from engine.grid import tp_price
from engine.state import GroupState, PyramidState
from engine.takeprofit import (
    aggregate_target,
    price_reached_target,
    stop_price_from_percent,
    stop_triggered,
)

__all__ = ["on_price", "group_stop_price", "group_take_profit_price"]


def group_stop_price(group: GroupState) -> Decimal | None:
    """The signal's stop price, else ``stop_loss_percent`` from the current average."""
    if group.stop_price is not None:
        return group.stop_price
    percent = group.settings.stop_loss_percent
    average = group.average_entry
    if percent is None or average is None:
        return None
    return stop_price_from_percent(average, percent, group.side)


def group_take_profit_price(ctx: Context, group: GroupState) -> Decimal | None:
    """The signal's take-profit price, else the aggregate target (aggregate/hybrid modes)."""
    if group.take_profit_price is not None:
        return group.take_profit_price
    average = group.average_entry
    if not group.settings.group_aggregate_tp or average is None:
        return None
    rules = ctx.group_rules(group)
    return aggregate_target(average, group.settings.tp_aggregate_percent, group.side, rules)


def _pyramid_average(pyramid: PyramidState) -> Decimal | None:
    quantity = sum((leg.open_quantity for leg in pyramid.legs), ZERO)
    if quantity == 0:
        return None
    return sum((leg.open_cost for leg in pyramid.legs), ZERO) / quantity


def _levels(ctx: Context, group: GroupState) -> tuple[bool, Decimal | None, Decimal | None]:
    """(anything open, stop price, take-profit price), memoised per group revision: they
    only change when a fill or a new pyramid changes the group."""
    key = f"levels:{group.group_id}"
    cached = ctx.cache.get(key)
    if cached is not None and cached[0] == group.revision:
        return cached[1], cached[2], cached[3]
    settings = group.settings
    step = ctx.group_rules(group).step_size
    assert step is not None
    has_open = group_sellable(group, step) > 0  # dust alone triggers nothing
    stop = target = None
    if has_open and (group.stop_price is not None or settings.stop_loss_percent is not None):
        stop = group_stop_price(group)
    if has_open and (group.take_profit_price is not None or settings.group_aggregate_tp):
        target = group_take_profit_price(ctx, group)
    ctx.cache[key] = (group.revision, has_open, stop, target)
    return has_open, stop, target


def _check_flat_target(ctx: Context, group: GroupState, mark: Decimal) -> None:
    """The signal's take-profit price on a group holding nothing sellable whose orders still
    work (per-leg TPs sold everything while DCA legs rest): crossing it ends the group, "whether
    or not legs are still resting" (SPEC §6.3) — the resting orders are cancelled, any dust is
    left, the slot is released. A group that never filled has no profit to take, and a target
    derived from the average (aggregate/hybrid) needs a held quantity to exist."""
    target = group.take_profit_price
    if target is None or not price_reached_target(mark, target, group.side):
        return
    if all(leg.filled_quantity == 0 for leg in group.legs) or not live_orders(ctx, group):
        return
    begin_close(ctx, group, OrderPurpose.AGGREGATE_TP, "aggregate_take_profit")


def _check_group(ctx: Context, group: GroupState, mark: Decimal) -> None:
    if group.status is GroupStatus.CLOSING:
        return
    settings = group.settings
    per_part = settings.pyramid_aggregate_tp or settings.watched_leg_tp
    wants_stop = group.stop_price is not None or settings.stop_loss_percent is not None
    wants_target = group.take_profit_price is not None or settings.group_aggregate_tp
    if not (wants_stop or wants_target or per_part):
        return  # nothing on this group watches the price (per-leg TPs rest on the exchange)
    has_open, stop, target = _levels(ctx, group)
    if not has_open:
        _check_flat_target(ctx, group, mark)
        return
    if stop is not None and stop_triggered(mark, stop, group.side):
        begin_close(ctx, group, OrderPurpose.STOP, "stop_loss")
        return
    if target is not None and price_reached_target(mark, target, group.side):
        begin_close(ctx, group, OrderPurpose.AGGREGATE_TP, "aggregate_take_profit")
        return
    if not per_part:
        return
    rules = ctx.group_rules(group)
    step = rules.step_size
    assert step is not None
    busy = {intent.pyramid_index for intent in group.intents}
    busy_legs = {(t.pyramid_index, t.leg_index) for i in group.intents for t in i.targets}
    if settings.pyramid_aggregate_tp:
        for pyramid in group.pyramids:
            if pyramid.aggregate_closed or pyramid.index in busy:
                continue
            average = _pyramid_average(pyramid)
            if average is None or all(leg_sellable(leg, step) <= 0 for leg in pyramid.legs):
                continue
            goal = aggregate_target(average, settings.tp_aggregate_percent, group.side, rules)
            if price_reached_target(mark, goal, group.side):
                close_pyramid(ctx, group, pyramid)
    if settings.watched_leg_tp:
        for pyramid in group.pyramids:
            if pyramid.aggregate_closed:
                continue
            for leg in pyramid.legs:
                if (pyramid.index, leg.index) in busy_legs:
                    continue
                if leg_sellable(leg, step) <= 0:
                    continue
                fill_price = leg.average_fill_price
                assert fill_price is not None
                goal = tp_price(fill_price, leg.level.tp_percent, group.side, rules)
                if price_reached_target(mark, goal, group.side):
                    close_leg(ctx, group, pyramid.index, leg)


def on_price(ctx: Context, event: PriceMoved) -> None:
    """Store the mark and run the price triggers of every open group on that market."""
    if event.price <= 0:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            "Price must be positive; ignored",
            field="price",
            reason="invalid_price",
            exchange=event.exchange,
            symbol=event.symbol,
            price=event.price,
        )
        return
    ctx.state.marks.setdefault(event.exchange, {})[event.symbol] = event.price
    for group in ctx.state.open_groups():
        if group.exchange == event.exchange and group.symbol == event.symbol:
            _check_group(ctx, group, event.price)
