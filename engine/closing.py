"""Closing (SPEC §6.3–6.5, §9): whole-group exits, partial closes (risk offsets, ``reduce``,
pyramid aggregate TP, per-leg TPs watched by the engine) and the end of a group.

Two rules guard "nothing is ever closed twice" (SPEC §6.5):
- a partial close that could overlap a resting order (a per-leg limit TP, a pyramid's resting
  legs) waits, as a :class:`~engine.state.CloseIntent`, until that order is cancelled; an
  order found filled while cancelling is booked first and the close takes only what is left;
- a closing group cancels every resting order and sends its market close only when no order
  of the group is live any more, for the quantity still open at that moment.
"""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import allocate_pro_rata, leg_sellable, sellable, step_allocation
from engine.context import Context
from engine.domain import (
    ZERO,
    Category,
    GroupStatus,
    OrderPurpose,
    OrderType,
    Severity,
)
from engine.orders import place_order, request_cancel
from engine.precision import check_minimums
from engine.state import (
    CloseAllocation,
    CloseIntent,
    CloseTarget,
    GroupState,
    LegState,
    OrderState,
    PyramidState,
)

__all__ = [
    "live_orders",
    "has_close_in_flight",
    "begin_close",
    "close_partially",
    "close_pyramid",
    "close_leg",
    "process_intents",
    "advance_closing",
    "finish_group",
]


def live_orders(ctx: Context, group: GroupState) -> list[OrderState]:
    orders = (ctx.state.orders[order_id] for order_id in group.order_ids)
    return [order for order in orders if order.is_live]


def has_close_in_flight(ctx: Context, group: GroupState) -> bool:
    """A market close of this group is sent and not finished, or one is waiting to be sent."""
    if group.intents:
        return True
    return any(
        order.is_close and order.type is OrderType.MARKET for order in live_orders(ctx, group)
    )


def begin_close(ctx: Context, group: GroupState, purpose: OrderPurpose, reason: str) -> bool:
    """Exit the whole group (SPEC §6.5). The first trigger wins: a group already closing is
    left alone and ``False`` is returned."""
    if not group.is_open or group.status is GroupStatus.CLOSING:
        return False
    group.status = GroupStatus.CLOSING
    group.closing_purpose = purpose
    group.close_reason = reason
    group.intents.clear()
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        "Closing position group",
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        purpose=purpose.value,
        reason=reason,
        open_quantity=group.open_quantity,
    )
    ctx.touch(group)
    return True


def _next_intent_id(ctx: Context) -> str:
    ctx.state.counters.intents += 1
    return f"ci{ctx.state.counters.intents}"


def _tp_orders_of(ctx: Context, legs: list[LegState]) -> list[str]:
    ids = []
    for leg in legs:
        if leg.tp_order_id is not None:
            order = ctx.state.orders[leg.tp_order_id]
            if order.is_live and order.type is OrderType.LIMIT:
                ids.append(order.client_order_id)
    return ids


def close_partially(
    ctx: Context,
    group: GroupState,
    quantity: Decimal,
    purpose: OrderPurpose,
    risk_action_id: str | None = None,
) -> bool:
    """Close ``quantity`` of the group pro rata over its legs (risk offsets, ``reduce``).

    Closing everything sellable (the available quantity rounded down to the step) is a full
    exit instead. Returns ``False`` when nothing can be closed."""
    rules = ctx.group_rules(group)
    assert rules.step_size is not None
    most = sellable(group.available_quantity, rules.step_size)
    if quantity <= 0 or most <= 0 or group.status is GroupStatus.CLOSING:
        return False
    if quantity >= most:
        return begin_close(ctx, group, purpose, purpose.value)
    legs = group.legs
    shares = allocate_pro_rata(quantity, [leg.available_quantity for leg in legs], rules.step_size)
    targets: list[CloseTarget] = []
    touched: list[LegState] = []
    position = 0
    for pyramid in group.pyramids:
        for leg in pyramid.legs:
            share = shares[position]
            position += 1
            if share > 0:
                targets.append(CloseTarget(pyramid.index, leg.index, share))
                touched.append(leg)
    intent = CloseIntent(
        intent_id=_next_intent_id(ctx),
        purpose=purpose,
        targets=targets,
        cancel_order_ids=_tp_orders_of(ctx, touched),
        created_at_ms=ctx.now,
        risk_action_id=risk_action_id,
    )
    group.intents.append(intent)
    ctx.touch(group)
    return True


def close_pyramid(ctx: Context, group: GroupState, pyramid: PyramidState) -> None:
    """pyramid_aggregate TP: cancel the pyramid's resting orders, then close its open
    quantity at market (the quantity is taken when the close is sent)."""
    pyramid.aggregate_closed = True
    cancel_ids = [
        order.client_order_id
        for order in live_orders(ctx, group)
        if order.pyramid_index == pyramid.index and order.type is OrderType.LIMIT
    ]
    group.intents.append(
        CloseIntent(
            intent_id=_next_intent_id(ctx),
            purpose=OrderPurpose.AGGREGATE_TP,
            targets=[],
            cancel_order_ids=cancel_ids,
            created_at_ms=ctx.now,
            pyramid_index=pyramid.index,
        )
    )
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        "Pyramid aggregate take-profit reached",
        group_id=group.group_id,
        pyramid_index=pyramid.index,
    )
    ctx.touch(group)


def close_leg(ctx: Context, group: GroupState, pyramid_index: int, leg: LegState) -> None:
    """Market-close one leg's sellable quantity (per-leg TP watched by the engine)."""
    step = ctx.group_rules(group).step_size
    assert step is not None
    group.intents.append(
        CloseIntent(
            intent_id=_next_intent_id(ctx),
            purpose=OrderPurpose.TAKE_PROFIT,
            targets=[CloseTarget(pyramid_index, leg.index, leg_sellable(leg, step))],
            cancel_order_ids=[],
            created_at_ms=ctx.now,
        )
    )
    ctx.touch(group)


def _send_close(
    ctx: Context,
    group: GroupState,
    purpose: OrderPurpose,
    allocations: list[CloseAllocation],
    pyramid_index: int | None,
) -> OrderState | None:
    """One market order for the summed allocations, if it passes the exchange minimums.

    The allocations are what each leg may give; the order carries their sum rounded down to
    the step (``step_allocation``: the account cannot sell the dust of base-asset fees)."""
    rules = ctx.group_rules(group)
    assert rules.step_size is not None
    shares = step_allocation([allocation.quantity for allocation in allocations], rules.step_size)
    for allocation, share in zip(allocations, shares, strict=True):
        allocation.quantity = share
    allocations = [allocation for allocation in allocations if allocation.quantity > 0]
    quantity = sum((allocation.quantity for allocation in allocations), ZERO)
    if quantity <= 0:
        return None
    mark = ctx.mark(group.exchange, group.symbol)
    reference = mark if mark is not None else group.average_entry
    assert reference is not None
    problem = check_minimums(quantity, reference, rules)
    if problem is not None:
        ctx.audit(
            Category.ORDER,
            Severity.WARNING,
            "Close below the exchange minimum not sent",
            group_id=group.group_id,
            purpose=purpose.value,
            reason=problem.value,
            quantity=quantity,
            price=reference,
        )
        return None
    leg_index = allocations[0].leg_index if len(allocations) == 1 else None
    pyramid = pyramid_index
    if len(allocations) == 1:
        pyramid = allocations[0].pyramid_index
    return place_order(
        ctx,
        group,
        purpose=purpose,
        pyramid_index=pyramid,
        leg_index=leg_index,
        side=group.side.exit_order_side,
        order_type=OrderType.MARKET,
        quantity=quantity,
        price=None,
        reference_price=reference,
        allocations=allocations,
    )


def process_intents(ctx: Context, group: GroupState) -> None:
    for intent in list(group.intents):
        waiting = [
            ctx.state.orders[order_id]
            for order_id in intent.cancel_order_ids
            if ctx.state.orders[order_id].is_live
        ]
        for order in waiting:
            request_cancel(ctx, order)
        if waiting:
            continue
        group.intents.remove(intent)
        if intent.pyramid_index is not None:
            pyramid = group.pyramids[intent.pyramid_index]
            allocations = [
                CloseAllocation(pyramid.index, leg.index, leg.available_quantity)
                for leg in pyramid.legs
            ]
        else:
            allocations = [
                CloseAllocation(
                    target.pyramid_index,
                    target.leg_index,
                    min(
                        target.quantity,
                        group.leg(target.pyramid_index, target.leg_index).available_quantity,
                    ),
                )
                for target in intent.targets
            ]
        _send_close(ctx, group, intent.purpose, allocations, intent.pyramid_index)


def advance_closing(ctx: Context, group: GroupState) -> None:
    live = live_orders(ctx, group)
    for order in live:
        if order.type is OrderType.LIMIT:
            request_cancel(ctx, order)
    if live:
        return  # wait until every order of the group is done
    quantity = group.open_quantity
    if quantity > 0:
        if group.close_retry_after_ms is not None and ctx.now < group.close_retry_after_ms:
            return
        purpose = group.closing_purpose or OrderPurpose.EXIT
        allocations = [
            CloseAllocation(pyramid.index, leg.index, leg.open_quantity)
            for pyramid in group.pyramids
            for leg in pyramid.legs
        ]
        if _send_close(ctx, group, purpose, allocations, None) is not None:
            return
        ctx.audit(
            Category.ORDER,
            Severity.WARNING,
            "Remaining quantity below the exchange minimum left as dust",
            group_id=group.group_id,
            quantity=quantity,
        )
    finish_group(ctx, group, GroupStatus.CLOSED)


def finish_group(ctx: Context, group: GroupState, status: GroupStatus) -> None:
    """End the group; whatever it still holds (below one step, or below the exchange
    minimums) is recorded as its dust and stays valued at the mark (``engine.accounting``)."""
    for order in live_orders(ctx, group):
        request_cancel(ctx, order)
    group.status = status
    group.closed_at_ms = ctx.now
    group.dust_quantity = group.open_quantity
    group.intents.clear()
    if group.group_id in ctx.state.open_group_ids:
        ctx.state.open_group_ids.remove(group.group_id)
    ctx.touch_user(group.user_id)
    message = "Position group closed" if status is GroupStatus.CLOSED else "Position group failed"
    ctx.audit(
        Category.ORDER,
        Severity.INFO if status is GroupStatus.CLOSED else Severity.ERROR,
        message,
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        reason=group.close_reason,
        realised_usd=group.realised_usd,
        dust_quantity=group.dust_quantity or None,
    )
