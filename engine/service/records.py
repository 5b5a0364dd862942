"""Engine views and decisions -> store records (plain dataclasses of :mod:`engine.store`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.domain import (
    ZERO,
    AuditEvent,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    Signal,
)
from engine.store import (
    EventRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
)
from engine.views import GroupView, OrderView, QueueEntryTerms, QueueEntryView

__all__ = [
    "LEG_STATUS_TO_ORDER_STATUS",
    "pyramid_record_id",
    "leg_record_id",
    "group_records",
    "order_record",
    "order_fee_total",
    "event_record",
    "queued_record",
    "signal_record",
]

# The engine's leg states mapped onto the store's order-status column (the richer engine state
# is kept too, in the API; the store column is what exports and SQL queries see).
LEG_STATUS_TO_ORDER_STATUS: dict[str, OrderStatus] = {
    "not_placed": OrderStatus.PENDING,
    "resting": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "closed": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "pending": OrderStatus.PENDING,
    "open": OrderStatus.OPEN,
}


def pyramid_record_id(group_id: str, index: int) -> str:
    return f"{group_id}-p{index}"


def leg_record_id(group_id: str, pyramid_index: int, leg_index: int) -> str:
    return f"{group_id}-p{pyramid_index}-l{leg_index}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def group_records(
    view: GroupView,
) -> tuple[GroupRecord, list[PyramidRecord], list[LegRecord]]:
    """The store rows of one group: the group, its pyramids and their legs."""
    side = PositionSide(view.side)
    group = GroupRecord(
        group_id=view.group_id,
        user_id=view.user_id,
        exchange=view.exchange,
        symbol=view.symbol,
        timeframe=view.timeframe,
        side=side,
        status=GroupStatus(view.status),
        pyramid_count=view.pyramid_count,
        average_entry=view.average_entry,
        open_quantity=view.open_quantity,
        realised_pnl=view.realised_usd,
        unrealised_pnl=view.unrealised_usd,
        created_at_ms=view.created_at_ms,
        updated_at_ms=max(view.updated_at_ms, view.created_at_ms),
        closed_at_ms=view.closed_at_ms,
        extra={
            "max_pyramids": view.max_pyramids,
            "tp_mode": view.tp_mode,
            "mark_price": _text(view.mark),
            "unrealised_percent": _text(view.unrealised_percent),
            "fees_usd": str(view.fees_usd),
            "filled_quantity": str(view.filled_quantity),
            "legs_filled": view.legs_filled,
            "legs_total": view.legs_total,
            "close_reason": view.close_reason,
            "stop_price": _text(view.stop_price),
            "take_profit_price": _text(view.take_profit_price),
            "timer_started_at_ms": view.timer_started_at_ms,
            "timer_expires_at_ms": view.timer_expires_at_ms,
            "blocked": view.risk_blocked,
            "skip_once": view.skip_once,
        },
    )
    pyramids: list[PyramidRecord] = []
    legs: list[LegRecord] = []
    entry_side = side.entry_order_side
    for pyramid in view.pyramids:
        pyramid_id = pyramid_record_id(view.group_id, pyramid.index)
        pyramids.append(
            PyramidRecord(
                pyramid_id=pyramid_id,
                group_id=view.group_id,
                index=pyramid.index,
                capital=pyramid.capital,
                leg0_fill_price=pyramid.leg0_fill_price,
                created_at_ms=pyramid.created_at_ms,
            )
        )
        for leg in pyramid.legs:
            # a market leg 0 has no limit price: its price is what it filled at, or the
            # signal's entry price it was sized at
            price = leg.price
            if price is None:
                price = leg.average_fill_price or pyramid.entry_price
            legs.append(
                LegRecord(
                    leg_id=leg_record_id(view.group_id, pyramid.index, leg.index),
                    pyramid_id=pyramid_id,
                    index=leg.index,
                    side=entry_side,
                    price=price,
                    quantity=leg.quantity,
                    status=LEG_STATUS_TO_ORDER_STATUS.get(leg.status, OrderStatus.PENDING),
                    filled_quantity=leg.filled_quantity,
                    average_fill_price=leg.average_fill_price,
                    tp_price=leg.tp_price,
                    closed_quantity=leg.closed_quantity,
                    realised_pnl=leg.realised_usd,
                    fees=leg.fees_usd,
                    client_order_id=leg.entry_order_id,
                )
            )
    return group, pyramids, legs


def order_fee_total(view: OrderView, quote: str = "USDT") -> Decimal:
    """The order's fees in the quote currency: a quote fee as it is, a fee the exchange kept
    in the base asset (Binance spot buys) valued at the order's average fill price, as the
    engine values a leg's fees. A fee in a third asset (BNB) has no price here and is not
    counted; each fill keeps its own fee and asset (the fills table)."""
    base = view.symbol[: -len(quote)] if view.symbol.endswith(quote) else None
    total = ZERO
    for asset, amount in view.fees:
        if asset == quote:
            total += amount
        elif asset == base and view.average_price is not None:
            total += amount * view.average_price
    return total


def order_record(view: OrderView, *, reason: str | None = None, quote: str = "USDT") -> OrderRecord:
    return OrderRecord(
        client_order_id=view.client_order_id,
        exchange_order_id=view.exchange_order_id or None,
        user_id=view.user_id,
        exchange=view.exchange,
        symbol=view.symbol,
        side=OrderSide(view.side),
        type=OrderType(view.type),
        purpose=OrderPurpose(view.purpose),
        price=view.price,
        quantity=view.quantity,
        status=OrderStatus(view.status),
        filled_quantity=view.filled_quantity,
        average_price=view.average_price,
        fees=order_fee_total(view, quote),
        group_id=view.group_id,
        created_at_ms=view.created_at_ms,
        updated_at_ms=max(view.updated_at_ms, view.created_at_ms),
        reduce_only=view.purpose not in (OrderPurpose.ENTRY.value, OrderPurpose.DCA.value),
        reason=reason,
    )


def event_record(audit: AuditEvent) -> EventRecord:
    """An engine audit event as a store event; user, symbol and exchange come from its data."""
    data = audit.data

    def _field(name: str) -> str | None:
        value = data.get(name)
        return value if isinstance(value, str) and value else None

    return EventRecord(
        category=audit.category,
        severity=audit.severity,
        message=audit.message,
        at_ms=audit.at_ms,
        data=dict(data),
        user_id=_field("user_id"),
        symbol=_field("symbol"),
        exchange=_field("exchange"),
    )


def queued_record(
    view: QueueEntryView | QueueEntryTerms, *, status: str, payload: dict[str, Any] | None = None
) -> QueuedSignalRecord:
    return QueuedSignalRecord(
        queue_id=view.queue_id,
        user_id=view.user_id,
        signal_id=view.signal_id,
        exchange=view.exchange,
        symbol=view.symbol,
        timeframe=view.timeframe,
        side=PositionSide(view.side),
        entry_price=view.entry_price,
        order_size=view.order_size,
        size_type=view.size_type,
        reason=view.reason,
        status=status,
        replacement_count=view.replacement_count,
        queued_at_ms=view.queued_at_ms,
        updated_at_ms=max(view.updated_at_ms, view.queued_at_ms),
        payload=dict(payload or {}),
    )


def signal_record(
    signal: Signal,
    *,
    outcome: str,
    reason: str | None,
    group_id: str | None,
    queue_id: str | None,
) -> SignalRecord:
    """The stored form of a parsed signal: its raw payload (no secret) and its outcome."""
    payload = {key: value for key, value in signal.raw.items() if key != "secret"}
    return SignalRecord(
        signal_id=signal.signal_id,
        user_id=signal.user_id,
        received_at_ms=signal.received_at_ms,
        payload=payload,
        fingerprint=signal.fingerprint,
        outcome=outcome,
        reason=reason,
        group_id=group_id,
        queue_id=queue_id,
    )
