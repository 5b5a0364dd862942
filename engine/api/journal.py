"""What happened: signals with outcomes, the audit log, every exchange order."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query

from engine.api.convert import parse_time
from engine.api.deps import AUTH_RESPONSES, ApiError, fresh_runtime, require_token
from engine.api.present import event_model, order_model, signal_model
from engine.api.schemas import EventModel, OrderModel, SignalModel
from engine.domain import Category, OrderStatus, Severity
from engine.service.runtime import Runtime
from engine.store import EventQuery

__all__ = ["router", "MAX_LIMIT"]

router = APIRouter(tags=["journal"], dependencies=[Depends(require_token)])
MAX_LIMIT = 10_000


def _enum_value(kind: type[Category] | type[Severity], value: str | None, field: str) -> str | None:
    if value is None:
        return None
    allowed = [member.value for member in kind]
    if value.lower() not in allowed:
        raise ApiError(422, field, f"must be one of {', '.join(allowed)}", "unknown_value")
    return value.lower()


def _time(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_time(value, field)
    except ValueError as exc:
        raise ApiError(422, field, str(exc).split(": ", 1)[-1], "invalid_time") from None


@router.get("/signals", response_model=list[SignalModel], responses=AUTH_RESPONSES)
async def list_signals(
    user_id: str | None = None,
    outcome: str | None = None,
    since: str | None = Query(default=None, description="epoch ms or ISO 8601"),
    until: str | None = Query(default=None, description="epoch ms or ISO 8601 (exclusive)"),
    limit: int = Query(default=1000, ge=1, le=MAX_LIMIT),
    runtime: Runtime = Depends(fresh_runtime),
) -> list[SignalModel]:
    """Signals received, oldest first (the newest ``limit`` of them)."""
    records = runtime.store.list_signals(
        user_id=user_id,
        since_ms=_time(since, "since"),
        until_ms=_time(until, "until"),
        limit=None if outcome is not None else limit,
    )
    if outcome is not None:
        records = [record for record in records if record.outcome == outcome][-limit:]
    return [signal_model(record) for record in records]


@router.get("/events", response_model=list[EventModel], responses=AUTH_RESPONSES)
async def list_events(
    category: str | None = None,
    severity: str | None = None,
    symbol: str | None = None,
    exchange: str | None = None,
    user_id: str | None = None,
    since: str | None = Query(default=None, description="epoch ms or ISO 8601"),
    until: str | None = Query(default=None, description="epoch ms or ISO 8601 (exclusive)"),
    contains: str | None = Query(
        default=None, description="case-insensitive text in the message or the data"
    ),
    limit: int = Query(default=1000, ge=1, le=MAX_LIMIT),
    runtime: Runtime = Depends(fresh_runtime),
) -> list[EventModel]:
    """Audit events, oldest first (the newest ``limit`` that match)."""
    category_value = _enum_value(Category, category, "category")
    severity_value = _enum_value(Severity, severity, "severity")
    query = EventQuery(
        category=None if category_value is None else Category(category_value),
        severity=None if severity_value is None else Severity(severity_value),
        symbol=symbol.upper() if symbol else None,
        exchange=exchange.lower() if exchange else None,
        user_id=user_id,
        since_ms=_time(since, "since"),
        until_ms=_time(until, "until"),
        limit=limit if contains is None else 1_000_000,
    )
    records = runtime.store.query_events(query)
    if contains:
        needle = contains.lower()
        records = [
            record
            for record in records
            if needle in record.message.lower()
            or needle in json.dumps(record.data, default=str).lower()
        ][-limit:]
    return [event_model(record) for record in records]


@router.get("/orders", response_model=list[OrderModel], responses=AUTH_RESPONSES)
async def list_orders(
    user_id: str | None = None,
    group_id: str | None = None,
    status: str | None = Query(
        default=None, description="pending, open, partially_filled, filled, cancelled, rejected"
    ),
    runtime: Runtime = Depends(fresh_runtime),
) -> list[OrderModel]:
    """Every exchange order the engine sent (entry, DCA, TP, exit, stop, risk, reduce)."""
    statuses = None
    if status is not None:
        try:
            statuses = [OrderStatus(status.lower())]
        except ValueError:
            allowed = ", ".join(member.value for member in OrderStatus)
            raise ApiError(422, "status", f"must be one of {allowed}", "unknown_value") from None
    records = runtime.store.list_orders(user_id=user_id, group_id=group_id, statuses=statuses)
    return [order_model(record) for record in records]
