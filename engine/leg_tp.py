"""Per-leg take-profit orders resting on the exchange (SPEC §6.3, ``tp_order_type: limit``)."""

from __future__ import annotations

from engine.accounting import leg_sellable
from engine.context import Context
from engine.domain import (
    OrderPurpose,
    OrderType,
)
from engine.grid import tp_price
from engine.orders import place_order, request_cancel
from engine.precision import check_minimums
from engine.state import (
    CloseAllocation,
    GroupState,
)

__all__ = ["sync_leg_take_profits"]


def sync_leg_take_profits(ctx: Context, group: GroupState) -> None:
    """Keep one resting limit TP per filled leg, for exactly its sellable open quantity (not
    already promised to a close; net of base-asset fees, rounded down to the step). A TP
    whose quantity no longer matches is cancelled and replaced once the cancel is confirmed
    (decision: cancel + replace, one TP order per leg)."""
    settings = group.settings
    if not settings.resting_leg_tp:
        return
    frozen = {
        (target.pyramid_index, target.leg_index)
        for intent in group.intents
        for target in intent.targets
    }
    frozen_pyramids = {intent.pyramid_index for intent in group.intents}
    rules = ctx.group_rules(group)
    step = rules.step_size
    assert step is not None
    for pyramid in group.pyramids:
        if pyramid.aggregate_closed or pyramid.index in frozen_pyramids:
            continue
        for leg in pyramid.legs:
            if (pyramid.index, leg.index) in frozen:
                continue
            wanted = leg_sellable(leg, step)  # net of base-asset fees, whole steps
            current = None if leg.tp_order_id is None else ctx.state.orders[leg.tp_order_id]
            if current is not None and current.is_live:
                if current.cancel_requested or current.remaining_quantity == wanted:
                    continue
                request_cancel(ctx, current)
                continue
            if wanted <= 0:
                continue
            if leg.tp_retry_after_ms is not None and ctx.now < leg.tp_retry_after_ms:
                continue
            fill_price = leg.average_fill_price
            assert fill_price is not None
            price = tp_price(fill_price, leg.level.tp_percent, group.side, rules)
            if check_minimums(wanted, price, rules) is not None:
                continue  # too small to rest on the exchange; grows with the next fill
            leg.tp_retry_after_ms = None
            order = place_order(
                ctx,
                group,
                purpose=OrderPurpose.TAKE_PROFIT,
                pyramid_index=pyramid.index,
                leg_index=leg.index,
                side=group.side.exit_order_side,
                order_type=OrderType.LIMIT,
                quantity=wanted,
                price=price,
                reference_price=price,
                allocations=[CloseAllocation(pyramid.index, leg.index, wanted)],
                reserve=False,  # a resting TP does not reserve its quantity: it is the exit
            )
            leg.tp_order_id = order.client_order_id
