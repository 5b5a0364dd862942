"""Sending orders and booking what the exchange reports back (accepted, filled, cancelled,
rejected), keyed by the deterministic client order id."""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import book_close_fill, book_entry_fill, convert_fee, utc_day
from engine.context import Context
from engine.domain import (
    ZERO,
    CancelOrder,
    Category,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Reason,
    RefreshMarketRules,
    Severity,
)
from engine.domain.events import OrderFilled
from engine.ids import client_order_id
from engine.state import CloseAllocation, GroupState, OrderState

__all__ = [
    "FILTER_REJECT_REASONS",
    "place_order",
    "request_cancel",
    "on_accepted",
    "on_filled",
    "on_cancelled",
    "on_rejected",
    "book_realised",
]

# Rejections that mean our copy of the market's filters is stale: refresh it (SPEC §5).
FILTER_REJECT_REASONS = frozenset(
    {
        Reason.BELOW_MIN_QTY.value,
        Reason.BELOW_MIN_NOTIONAL.value,
        Reason.PRECISION_MISSING.value,
        "invalid_price",
        "invalid_quantity",
        "filter_failure",
        "lot_size",
        "price_filter",
    }
)


def place_order(
    ctx: Context,
    group: GroupState,
    *,
    purpose: OrderPurpose,
    pyramid_index: int | None,
    leg_index: int | None,
    side: OrderSide,
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal | None,
    reference_price: Decimal,
    allocations: list[CloseAllocation] | None = None,
    reserve: bool = True,
) -> OrderState:
    """Record an order as ``pending`` and emit the ``PlaceOrder`` command.

    A closing order with ``reserve`` holds its allocated quantity on the legs until it fills
    or ends, so no other close can take the same quantity."""
    pyramid = "x" if pyramid_index is None else str(pyramid_index)
    leg = "x" if leg_index is None else str(leg_index)
    sequence = group.next_sequence(f"{pyramid}:{leg}:{purpose.value}")
    order_id = client_order_id(
        ctx.state.namespace, group.group_id, pyramid_index, leg_index, purpose, sequence
    )
    reduce_only = purpose not in (OrderPurpose.ENTRY, OrderPurpose.DCA)
    order = OrderState(
        client_order_id=order_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        side=side,
        type=order_type,
        quantity=quantity,
        price=price,
        purpose=purpose,
        group_id=group.group_id,
        pyramid_index=pyramid_index,
        leg_index=leg_index,
        reference_price=reference_price,
        created_at_ms=ctx.now,
        updated_at_ms=ctx.now,
        allocations=list(allocations or []),
        reduce_only=reduce_only,
        reserving=reserve and bool(allocations),
        sequence=ctx.state.counters.orders + 1,
    )
    ctx.state.counters.orders += 1
    for allocation in order.allocations if order.reserving else ():
        group.leg(
            allocation.pyramid_index, allocation.leg_index
        ).reserved_quantity += allocation.quantity
    ctx.state.orders[order_id] = order
    group.order_ids.append(order_id)
    ctx.emit(
        PlaceOrder(
            client_order_id=order_id,
            user_id=group.user_id,
            exchange=group.exchange,
            symbol=group.symbol,
            side=side,
            type=order_type,
            quantity=quantity,
            price=price,
            purpose=purpose,
            group_id=group.group_id,
            reduce_only=reduce_only,
        )
    )
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        "Order placed",
        client_order_id=order_id,
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        side=side.value,
        type=order_type.value,
        purpose=purpose.value,
        quantity=quantity,
        price=price,
        pyramid_index=pyramid_index,
        leg_index=leg_index,
    )
    ctx.touch(group)
    return order


def request_cancel(ctx: Context, order: OrderState) -> None:
    """Ask the exchange to cancel ``order`` once; the order stays live until it reports back."""
    if order.cancel_requested or not order.is_live:
        return
    order.cancel_requested = True
    order.updated_at_ms = ctx.now
    ctx.emit(CancelOrder(order.client_order_id, order.user_id, order.exchange, order.symbol))


def book_realised(ctx: Context, user_id: str, amount: Decimal) -> None:
    """Add realised PnL to the user's ledger of the current UTC day (daily-loss limit)."""
    user = ctx.state.users.get(user_id)
    if user is None or amount == 0:
        return
    day = utc_day(ctx.now)
    user.realised_by_day[day] = user.realised_by_day.get(day, ZERO) + amount
    for old_day in [known for known in user.realised_by_day if known < day - 7]:
        del user.realised_by_day[old_day]


def _order_or_audit(ctx: Context, client_order_id: str, event: str) -> OrderState | None:
    order = ctx.state.orders.get(client_order_id)
    if order is None:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            f"{event} for an unknown order",
            field="client_order_id",
            reason="unknown_order",
            client_order_id=client_order_id,
        )
    return order


def on_accepted(ctx: Context, client_order_id: str, exchange_order_id: str) -> None:
    order = _order_or_audit(ctx, client_order_id, "OrderAccepted")
    if order is None:
        return
    if exchange_order_id:
        order.exchange_order_id = exchange_order_id
    if order.status is OrderStatus.PENDING:
        order.status = OrderStatus.OPEN
    order.updated_at_ms = ctx.now
    ctx.touch(ctx.state.groups[order.group_id])


def on_filled(ctx: Context, event: OrderFilled) -> OrderState | None:
    """Book one incremental fill. Returns the order when the fill was booked."""
    order = _order_or_audit(ctx, event.client_order_id, "OrderFilled")
    if order is None:
        return None
    if event.quantity <= 0 or event.price <= 0 or event.fee < 0:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            "Fill with a non-positive quantity or price, or a negative fee, ignored",
            field="quantity" if event.quantity <= 0 else "price" if event.price <= 0 else "fee",
            reason="invalid_fill",
            client_order_id=order.client_order_id,
            quantity=event.quantity,
            price=event.price,
            fee=event.fee,
        )
        return None
    if event.trade_id and event.trade_id in order.trade_ids:
        ctx.audit(
            Category.ORDER,
            Severity.DEBUG,
            "Fill already booked",
            client_order_id=order.client_order_id,
            trade_id=event.trade_id,
        )
        return None
    quantity = event.quantity
    remaining = order.remaining_quantity
    if quantity > remaining:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            "Fill larger than the order's remaining quantity; booked up to the order size",
            field="quantity",
            reason="overfill",
            client_order_id=order.client_order_id,
            quantity=quantity,
            remaining=remaining,
        )
        quantity = remaining
        if quantity <= 0:
            return None
    group = ctx.state.groups[order.group_id]
    rules = ctx.group_rules(group)
    fee = convert_fee(event.fee, event.fee_asset, event.price, rules.base, rules.quote)
    receives_base = order.is_entry and order.side is OrderSide.BUY
    if receives_base and fee.in_base and fee.amount >= quantity:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            "Fill whose base-asset fee is not below its quantity, ignored",
            field="fee",
            reason="invalid_fill",
            client_order_id=order.client_order_id,
            quantity=quantity,
            fee=event.fee,
            fee_asset=event.fee_asset,
        )
        return None
    group.revision += 1
    if event.trade_id:
        order.trade_ids.append(event.trade_id)
    order.filled_quantity += quantity
    order.filled_cost += quantity * event.price
    if event.fee:
        order.fees[fee.asset] = order.fees.get(fee.asset, ZERO) + event.fee
    if order.filled_quantity >= order.quantity:
        order.status = OrderStatus.FILLED
    elif order.is_live:
        order.status = OrderStatus.PARTIALLY_FILLED
    # a late fill of an order already cancelled keeps it cancelled (the fill is still booked)
    order.updated_at_ms = ctx.now
    if order.is_entry:
        assert order.pyramid_index is not None and order.leg_index is not None
        leg = group.leg(order.pyramid_index, order.leg_index)
        realised = book_entry_fill(leg, quantity, event.price, fee, receives_base=receives_base)
        book_realised(ctx, group.user_id, realised)
    else:
        realised = _book_close(ctx, group, order, quantity, event.price, fee.amount, fee.asset)
    if fee.quote_value is None and event.fee:
        ctx.audit(
            Category.ORDER,
            Severity.WARNING,
            "Fee in an asset that is neither base nor quote: kept per asset, not in PnL",
            client_order_id=order.client_order_id,
            fee=event.fee,
            fee_asset=event.fee_asset,
        )
    message = "Take-profit hit" if order.purpose is OrderPurpose.TAKE_PROFIT else "Order filled"
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        message,
        client_order_id=order.client_order_id,
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        purpose=order.purpose.value,
        quantity=quantity,
        price=event.price,
        fee=event.fee,
        fee_asset=event.fee_asset,
        realised_usd=realised,
        order_status=order.status.value,
    )
    ctx.touch(group)
    return order


def _book_close(
    ctx: Context,
    group: GroupState,
    order: OrderState,
    quantity: Decimal,
    price: Decimal,
    fee_amount: Decimal,
    fee_asset: str,
) -> Decimal:
    """Spread a close fill over the order's leg allocations, in order; the fee follows the
    quantity pro rata. Returns the realised PnL booked."""
    rules = ctx.group_rules(group)
    left = quantity
    total = ZERO
    fee_left = fee_amount
    open_allocations = [a for a in order.allocations if a.filled < a.quantity]
    for position, allocation in enumerate(open_allocations):
        if left <= 0:
            break
        take = min(left, allocation.quantity - allocation.filled)
        leg = group.leg(allocation.pyramid_index, allocation.leg_index)
        take = min(take, leg.open_quantity)
        if take <= 0:
            continue
        last = position == len(open_allocations) - 1 or take == left
        fee_part = fee_left if last else fee_amount * take / quantity
        fee_left -= fee_part
        fee = convert_fee(fee_part, fee_asset, price, rules.base, rules.quote)
        realised = book_close_fill(leg, take, price, fee, group.side)
        allocation.filled += take
        if order.reserving:
            leg.reserved_quantity -= take
        if order.purpose is OrderPurpose.TAKE_PROFIT:
            leg.closed_by_tp = True
        book_realised(ctx, group.user_id, realised)
        total += realised
        left -= take
    if left > 0:
        ctx.audit(
            Category.ERROR,
            Severity.ERROR,
            "Close fill larger than the open quantity it was meant for; excess not booked",
            field="quantity",
            reason="overclose",
            client_order_id=order.client_order_id,
            excess=left,
        )
    return total


def _release_unfilled(group: GroupState, order: OrderState) -> None:
    for allocation in order.allocations:
        unfilled = allocation.quantity - allocation.filled
        if unfilled > 0:
            if order.reserving:
                leg = group.leg(allocation.pyramid_index, allocation.leg_index)
                leg.reserved_quantity -= unfilled
            allocation.quantity = allocation.filled


def on_cancelled(ctx: Context, client_order_id: str) -> OrderState | None:
    order = _order_or_audit(ctx, client_order_id, "OrderCancelled")
    if order is None:
        return None
    if not order.is_live:
        return None
    order.status = OrderStatus.CANCELLED
    order.updated_at_ms = ctx.now
    group = ctx.state.groups[order.group_id]
    _release_unfilled(group, order)
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        "Order cancelled",
        client_order_id=order.client_order_id,
        group_id=group.group_id,
        user_id=group.user_id,
        symbol=group.symbol,
        purpose=order.purpose.value,
        filled_quantity=order.filled_quantity,
    )
    ctx.touch(group)
    return order


def on_rejected(ctx: Context, client_order_id: str, reason: str, message: str) -> OrderState | None:
    order = _order_or_audit(ctx, client_order_id, "OrderRejected")
    if order is None:
        return None
    if not order.is_live:
        return None
    order.status = OrderStatus.REJECTED
    order.reject_reason = reason
    order.updated_at_ms = ctx.now
    group = ctx.state.groups[order.group_id]
    _release_unfilled(group, order)
    ctx.audit(
        Category.ERROR,
        Severity.ERROR,
        "Order rejected by the exchange",
        client_order_id=order.client_order_id,
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        purpose=order.purpose.value,
        reason=reason,
        detail=message,
    )
    retry_at = ctx.now + ctx.config(group.user_id).risk_config.evaluate_interval_seconds * 1000
    if order.purpose is OrderPurpose.TAKE_PROFIT and order.type is OrderType.LIMIT:
        assert order.pyramid_index is not None and order.leg_index is not None
        group.leg(order.pyramid_index, order.leg_index).tp_retry_after_ms = retry_at
    elif order.is_close and group.status is GroupStatus.CLOSING:
        group.close_retry_after_ms = retry_at  # the exit close is re-sent after this time
    if reason in FILTER_REJECT_REASONS:
        ctx.emit(RefreshMarketRules(group.exchange, group.symbol))
    if reason == Reason.EXCHANGE_AUTH_FAILED.value:
        user = ctx.state.users.get(group.user_id)
        if user is not None:
            user.exchange_states[group.exchange] = "auth_failed"
    ctx.touch(group)
    return order
