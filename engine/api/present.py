"""Engine views and store records -> API models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.api.convert import dec, iso, jsonable, num
from engine.api.schemas import (
    EventModel,
    FieldErrorModel,
    GroupModel,
    LegModel,
    OrderModel,
    PyramidModel,
    QueueEntryModel,
    RiskActionModel,
    RiskWinnerModel,
    SignalModel,
)
from engine.domain import PositionSide, RiskAction
from engine.store import EventRecord, OrderRecord, SignalRecord
from engine.views import GroupView, QueueEntryView

__all__ = [
    "group_model",
    "queue_model",
    "risk_action_model",
    "signal_model",
    "event_model",
    "order_model",
]


def group_model(view: GroupView) -> GroupModel:
    side = PositionSide(view.side).entry_order_side.value
    pyramids = [
        PyramidModel(
            index=pyramid.index,
            signal_id=pyramid.signal_id,
            status=pyramid.status,
            capital=num(pyramid.capital),
            entry_price=num(pyramid.entry_price),
            leg0_fill_price=dec(pyramid.leg0_fill_price),
            created_at=iso(pyramid.created_at_ms),
            created_at_ms=pyramid.created_at_ms,
            legs=[
                LegModel(
                    index=leg.index,
                    pyramid_index=leg.pyramid_index,
                    side=side,
                    price=dec(leg.price),
                    quantity=num(leg.quantity),
                    status=leg.status,
                    filled_quantity=num(leg.filled_quantity),
                    average_fill_price=dec(leg.average_fill_price),
                    tp_price=dec(leg.tp_price),
                    closed_quantity=num(leg.closed_quantity),
                    open_quantity=num(leg.open_quantity),
                    base_fee_quantity=num(leg.base_fee_quantity),
                    sellable_quantity=num(leg.sellable_quantity),
                    dust_quantity=num(leg.dust_quantity),
                    realised_pnl=num(leg.realised_usd),
                    fees=num(leg.fees_usd),
                    client_order_id=leg.entry_order_id,
                    tp_order_id=leg.tp_order_id,
                    gap_percent=num(leg.gap_percent),
                    weight_percent=num(leg.weight_percent),
                    tp_percent=num(leg.tp_percent),
                )
                for leg in pyramid.legs
            ],
        )
        for pyramid in view.pyramids
    ]
    return GroupModel(
        group_id=view.group_id,
        user_id=view.user_id,
        exchange=view.exchange,
        symbol=view.symbol,
        timeframe=view.timeframe,
        side=view.side,
        status=view.status,
        pyramid_count=view.pyramid_count,
        max_pyramids=view.max_pyramids,
        average_entry=dec(view.average_entry),
        open_quantity=num(view.open_quantity),
        filled_quantity=num(view.filled_quantity),
        sellable_quantity=num(view.sellable_quantity),
        dust_quantity=num(view.dust_quantity),
        realised_pnl=num(view.realised_usd),
        unrealised_pnl=num(view.unrealised_usd),
        unrealised_percent=dec(view.unrealised_percent),
        mark_price=dec(view.mark),
        fees=num(view.fees_usd),
        legs_filled=view.legs_filled,
        legs_total=view.legs_total,
        created_at=iso(view.created_at_ms),
        created_at_ms=view.created_at_ms,
        updated_at=iso(view.updated_at_ms),
        updated_at_ms=view.updated_at_ms,
        closed_at=iso(view.closed_at_ms),
        closed_at_ms=view.closed_at_ms,
        close_reason=view.close_reason,
        tp_mode=view.tp_mode,
        stop_price=dec(view.stop_price),
        take_profit_price=dec(view.take_profit_price),
        timer_started_at=iso(view.timer_started_at_ms),
        timer_expires_at=iso(view.timer_expires_at_ms),
        blocked=view.risk_blocked,
        skip_once=view.skip_once,
        pyramids=pyramids,
    )


def queue_model(view: QueueEntryView) -> QueueEntryModel:
    return QueueEntryModel(
        queue_id=view.queue_id,
        rank=view.rank,
        user_id=view.user_id,
        exchange=view.exchange,
        symbol=view.symbol,
        timeframe=view.timeframe,
        side=view.side,
        entry_price=dec(view.entry_price),
        order_size=dec(view.order_size),
        size_type=view.size_type,
        replacement_count=view.replacement_count,
        queued_at=iso(view.queued_at_ms),
        queued_at_ms=view.queued_at_ms,
        updated_at=iso(view.updated_at_ms),
        reason=view.reason,
        loss_percent=dec(view.loss_percent),
        is_continuation=view.is_continuation,
        signal_id=view.signal_id,
    )


def risk_action_model(action: RiskAction) -> RiskActionModel:
    return RiskActionModel(
        action_id=action.action_id,
        user_id=action.user_id,
        loser_group_id=action.loser_group_id,
        loser_loss_percent=num(action.loser_loss_percent),
        loser_loss_usd=num(action.loser_loss_usd),
        loser_close_quantity=num(action.loser_close_quantity),
        covered_usd=num(action.covered_usd),
        winners=[
            RiskWinnerModel(
                group_id=winner.group_id,
                quantity=num(winner.quantity),
                realised_usd=num(winner.realised_usd),
            )
            for winner in action.winners
        ],
        net_usd=num(action.net_usd),
        at=iso(action.at_ms),
        at_ms=action.at_ms,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value) if isinstance(value, (str, int, Decimal)) else None


def signal_model(record: SignalRecord) -> SignalModel:
    payload = dict(record.payload)
    raw_errors = payload.pop("_errors", [])
    errors = [
        FieldErrorModel(
            field=str(item.get("field", "")),
            message=str(item.get("message", "")),
            code=str(item.get("code", "")),
        )
        for item in raw_errors
        if isinstance(item, dict)
    ]
    tv_raw = payload.get("tv")
    tv: dict[str, Any] = tv_raw if isinstance(tv_raw, dict) else {}
    intent_raw = payload.get("execution_intent")
    intent: dict[str, Any] = intent_raw if isinstance(intent_raw, dict) else {}
    return SignalModel(
        signal_id=record.signal_id,
        user_id=record.user_id,
        received_at=iso(record.received_at_ms),
        received_at_ms=record.received_at_ms,
        outcome=record.outcome,
        reason=record.reason,
        group_id=record.group_id,
        queue_id=record.queue_id,
        exchange=_text(tv.get("exchange")),
        symbol=_text(tv.get("symbol")),
        timeframe=_text(tv.get("timeframe")),
        type=_text(intent.get("type")),
        action=_text(tv.get("action")),
        fingerprint=record.fingerprint,
        errors=errors,
        payload=jsonable(payload),
    )


def event_model(record: EventRecord) -> EventModel:
    return EventModel(
        id=record.event_id,
        at=iso(record.at_ms),
        at_ms=record.at_ms,
        category=record.category.value,
        severity=record.severity.value,
        message=record.message,
        user_id=record.user_id,
        symbol=record.symbol,
        exchange=record.exchange,
        data=jsonable(dict(record.data)),
    )


def order_model(record: OrderRecord) -> OrderModel:
    return OrderModel(
        client_order_id=record.client_order_id,
        exchange_order_id=record.exchange_order_id,
        user_id=record.user_id,
        exchange=record.exchange,
        symbol=record.symbol,
        side=record.side.value,
        type=record.type.value,
        purpose=record.purpose.value,
        price=dec(record.price),
        quantity=num(record.quantity),
        status=record.status.value,
        filled_quantity=num(record.filled_quantity),
        average_price=dec(record.average_price),
        fees=num(record.fees),
        group_id=record.group_id,
        reduce_only=record.reduce_only,
        reason=record.reason,
        created_at=iso(record.created_at_ms),
        created_at_ms=record.created_at_ms,
        updated_at=iso(record.updated_at_ms),
        updated_at_ms=record.updated_at_ms,
    )
