"""Group lifecycle (SPEC §4, §6.1): opening groups and pyramids, DCA legs after leg 0 fills,
the derived group status, and :func:`reconcile`, which drives everything else.

Events only book facts (fills, cancels) and mark the group dirty; the engine reconciles
every dirty group before it returns. Reconciling compares the orders a group should have
with the orders it has and sends the difference, so each rule lives in one place: a TP is
(re)placed whenever a leg's open quantity and its TP order disagree, whatever caused it.
"""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import group_sellable
from engine.closing import advance_closing, finish_group, live_orders, process_intents
from engine.config import UserConfig
from engine.context import Context
from engine.domain import (
    ZERO,
    Category,
    GroupKey,
    GroupStatus,
    MarketRules,
    OrderPurpose,
    OrderStatus,
    OrderType,
    Outcome,
    Severity,
    Signal,
)
from engine.grid import plan_dca_legs, plan_leg0
from engine.ids import group_id as make_group_id
from engine.leg_tp import sync_leg_take_profits
from engine.orders import place_order
from engine.precision import check_minimums
from engine.state import (
    GroupSettings,
    GroupState,
    LegState,
    Level,
    OrderState,
    PyramidState,
)
from engine.timers import active_pyramid_count, reset_timer, update_timer

__all__ = ["settings_from_config", "open_group", "add_pyramid", "reconcile"]


def settings_from_config(config: UserConfig) -> GroupSettings:
    """Freeze the grid settings a new group opens with."""
    grid = config.dca_grid_config
    return GroupSettings(
        levels_by_pyramid=tuple(
            tuple(
                Level(level.gap_percent, level.weight_percent, level.tp_percent)
                for level in grid.levels_for(index)
            )
            for index in range(grid.max_pyramids)
        ),
        max_pyramids=grid.max_pyramids,
        entry_order_type=grid.entry_order_type,
        tp_mode=grid.tp_mode,
        tp_aggregate_percent=grid.tp_aggregate_percent,
        tp_order_type=grid.tp_order_type,
        stop_loss_percent=grid.stop_loss_percent,
    )


def open_group(
    ctx: Context,
    key: GroupKey,
    signal: Signal,
    capital: Decimal,
    entry_price: Decimal,
    rules: MarketRules,
) -> GroupState:
    """Create a group with its first pyramid (leg 0 is sent at once)."""
    state = ctx.state
    state.counters.groups += 1
    group = GroupState(
        group_id=make_group_id(state.counters.groups),
        user_id=key.user_id,
        exchange=key.exchange,
        symbol=key.symbol,
        timeframe=key.timeframe,
        side=key.side,
        settings=settings_from_config(ctx.config(key.user_id)),
        created_at_ms=ctx.now,
        updated_at_ms=ctx.now,
        sequence=state.counters.groups,
    )
    state.groups[group.group_id] = group
    state.open_group_ids.append(group.group_id)
    ctx.audit(
        Category.WEBHOOK,
        Severity.INFO,
        "Position group created",
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        timeframe=group.timeframe,
        side=group.side.value,
        signal_id=signal.signal_id,
    )
    add_pyramid(ctx, group, signal, capital, entry_price, rules)
    return group


def add_pyramid(
    ctx: Context,
    group: GroupState,
    signal: Signal,
    capital: Decimal,
    entry_price: Decimal,
    rules: MarketRules,
) -> PyramidState:
    """Add the next pyramid to ``group`` and send its leg 0 (SPEC §4)."""
    index = len(group.pyramids)  # position in the list: part of the order ids
    settings = group.settings
    levels = settings.levels_for(active_pyramid_count(group))  # the entry number
    plan = plan_leg0(capital, levels, entry_price, group.side, rules, settings.entry_order_type)
    pyramid = PyramidState(
        index=index,
        signal_id=signal.signal_id,
        capital=capital,
        entry_price=entry_price,
        levels=levels,
        legs=[LegState(index=i, level=level) for i, level in enumerate(levels)],
        created_at_ms=ctx.now,
    )
    group.pyramids.append(pyramid)
    group.revision += 1
    if signal.stop_loss is not None:
        group.stop_price = signal.stop_loss
    if signal.take_profit is not None:
        group.take_profit_price = signal.take_profit
    leg0 = pyramid.legs[0]
    leg0.planned = True
    leg0.planned_price = plan.price
    leg0.planned_quantity = plan.quantity
    order = place_order(
        ctx,
        group,
        purpose=OrderPurpose.ENTRY,
        pyramid_index=index,
        leg_index=0,
        side=group.side.entry_order_side,
        order_type=OrderType.MARKET if plan.price is None else OrderType.LIMIT,
        quantity=plan.quantity,
        price=plan.price,
        reference_price=plan.sizing_price,
    )
    leg0.entry_order_id = order.client_order_id
    if index > 0:
        ctx.audit(
            Category.WEBHOOK,
            Severity.INFO,
            "Pyramid continuation detected",
            group_id=group.group_id,
            user_id=group.user_id,
            exchange=group.exchange,
            symbol=group.symbol,
            pyramid_index=index,
            pyramids=f"{index + 1}/{settings.max_pyramids}",
            signal_id=signal.signal_id,
        )
        if ctx.config(group.user_id).risk_config.reset_timer_on_replacement:
            reset_timer(ctx, group, "new pyramid")
    ctx.touch(group)
    return pyramid


def _leg0_order(ctx: Context, pyramid: PyramidState) -> OrderState | None:
    order_id = pyramid.legs[0].entry_order_id
    return None if order_id is None else ctx.state.orders[order_id]


def _advance_pyramids(ctx: Context, group: GroupState) -> None:
    """Place DCA legs once leg 0 is done filling; fail a pyramid whose leg 0 got nothing."""
    for pyramid in group.pyramids:
        if pyramid.dca_placed or pyramid.failed:
            continue
        order = _leg0_order(ctx, pyramid)
        if order is None or order.is_live:
            continue
        leg0 = pyramid.legs[0]
        if leg0.filled_quantity == 0:
            pyramid.failed = True
            pyramid.dca_placed = True
            if order.status is OrderStatus.REJECTED:
                ctx.outcome(
                    pyramid.signal_id,
                    Outcome.REJECTED.value,
                    order.reject_reason or "order_rejected",
                    group.group_id,
                )
            ctx.audit(
                Category.ORDER,
                Severity.WARNING,
                "Pyramid entry did not fill",
                group_id=group.group_id,
                pyramid_index=pyramid.index,
                order_status=order.status.value,
                reason=order.reject_reason,
            )
            continue
        fill_price = leg0.average_fill_price
        assert fill_price is not None
        pyramid.leg0_fill_price = fill_price
        pyramid.dca_placed = True
        if group.status is GroupStatus.CLOSING or pyramid.aggregate_closed:
            continue
        _place_dca_legs(ctx, group, pyramid, fill_price)


def _place_dca_legs(
    ctx: Context, group: GroupState, pyramid: PyramidState, fill_price: Decimal
) -> None:
    rules = ctx.group_rules(group)
    plans = plan_dca_legs(pyramid.capital, pyramid.levels, fill_price, group.side, rules)
    for plan in plans:
        leg = pyramid.legs[plan.index]
        assert plan.price is not None
        problem = check_minimums(plan.quantity, plan.price, rules)
        if problem is not None:
            ctx.audit(
                Category.PRECISION,
                Severity.WARNING,
                "DCA leg below the exchange minimum after leg 0 filled; not placed",
                group_id=group.group_id,
                pyramid_index=pyramid.index,
                leg_index=plan.index,
                reason=problem.value,
                quantity=plan.quantity,
                price=plan.price,
            )
            continue
        leg.planned = True
        leg.planned_price = plan.price
        leg.planned_quantity = plan.quantity
        order = place_order(
            ctx,
            group,
            purpose=OrderPurpose.DCA,
            pyramid_index=pyramid.index,
            leg_index=plan.index,
            side=group.side.entry_order_side,
            order_type=OrderType.LIMIT,
            quantity=plan.quantity,
            price=plan.price,
            reference_price=plan.price,
        )
        leg.entry_order_id = order.client_order_id


def _derive_status(ctx: Context, group: GroupState) -> None:
    live = live_orders(ctx, group)
    live_entries = any(order.is_entry for order in live)
    pending_pyramid = any(not p.dca_placed and not p.failed for p in group.pyramids)
    filled = sum((leg.filled_quantity for leg in group.legs), ZERO)
    if filled == 0:
        if not live_entries and not pending_pyramid:
            group.close_reason = "entry_failed"
            finish_group(ctx, group, GroupStatus.FAILED)
        else:
            group.status = GroupStatus.LIVE
        return
    closes_in_flight = group.intents or any(
        order.is_close and order.type is OrderType.MARKET for order in live
    )
    step = ctx.group_rules(group).step_size
    assert step is not None
    # a group holding only dust (sub-step remainders of base-asset fees) has nothing left
    # to sell: it is closed like a flat one, the dust recorded (closing.finish_group)
    flat = group_sellable(group, step) == 0
    if flat and not (live_entries or pending_pyramid or closes_in_flight):
        group.close_reason = group.close_reason or "take_profit"
        finish_group(ctx, group, GroupStatus.CLOSED)
        return
    new_status = (
        GroupStatus.PARTIALLY_FILLED if live_entries or pending_pyramid else GroupStatus.ACTIVE
    )
    if new_status is not group.status:
        group.status = new_status
        ctx.audit(
            Category.ORDER,
            Severity.INFO,
            f"Position group {new_status.value}",
            group_id=group.group_id,
            user_id=group.user_id,
            symbol=group.symbol,
        )


def reconcile(ctx: Context, group: GroupState) -> None:
    """Bring one group's orders and status in line with its state."""
    if not group.is_open:
        return
    _advance_pyramids(ctx, group)
    if group.status is GroupStatus.CLOSING:
        advance_closing(ctx, group)
        return
    process_intents(ctx, group)
    sync_leg_take_profits(ctx, group)
    _derive_status(ctx, group)
    if group.is_open:
        update_timer(ctx, group)
