"""Read-only, frozen views of the engine state for the service, the dashboard and reports.

Nothing here hands out an internal object: every view is a frozen dataclass of plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.accounting import sellable, unrealised_percent, unrealised_usd
from engine.config import UserConfig
from engine.domain import ZERO, GroupStatus, MarketRules, OrderStatus
from engine.grid import tp_price
from engine.limits import committed_capital, daily_realised
from engine.precision import RulesStatus, resolve_rules
from engine.state import EngineState, GroupState, LegState, OrderState, PyramidState, UserState
from engine.timers import active_pyramid_count

__all__ = [
    "LegView",
    "PyramidView",
    "GroupView",
    "QueueEntryTerms",
    "QueueEntryView",
    "RiskGroupView",
    "RiskStatusView",
    "MetricsView",
    "OrderView",
    "group_view",
    "order_view",
    "risk_status_view",
    "metrics_view",
]


@dataclass(frozen=True, slots=True)
class LegView:
    pyramid_index: int
    index: int
    gap_percent: Decimal
    weight_percent: Decimal
    tp_percent: Decimal
    status: str  # not_placed | resting | partially_filled | filled | closed | cancelled | rejected
    price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    open_quantity: Decimal
    closed_quantity: Decimal
    realised_usd: Decimal
    fees_usd: Decimal
    fees: tuple[tuple[str, Decimal], ...]
    tp_price: Decimal | None
    entry_order_id: str | None
    tp_order_id: str | None
    # base asset the exchange kept as entry fees (open_quantity is net of it)
    base_fee_quantity: Decimal = ZERO
    sellable_quantity: Decimal = ZERO  # open quantity rounded down to the step
    dust_quantity: Decimal = ZERO  # open quantity below one step: no order can sell it


@dataclass(frozen=True, slots=True)
class PyramidView:
    index: int
    signal_id: str
    capital: Decimal
    entry_price: Decimal
    leg0_fill_price: Decimal | None
    status: str  # open | failed | aggregate_closed
    created_at_ms: int
    legs: tuple[LegView, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    group_id: str
    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: str
    status: str
    pyramid_count: int
    max_pyramids: int
    legs_filled: int
    legs_total: int
    filled_quantity: Decimal
    open_quantity: Decimal
    average_entry: Decimal | None
    mark: Decimal | None
    unrealised_usd: Decimal
    unrealised_percent: Decimal | None
    realised_usd: Decimal
    fees_usd: Decimal
    tp_mode: str
    stop_price: Decimal | None
    take_profit_price: Decimal | None
    created_at_ms: int
    updated_at_ms: int
    closed_at_ms: int | None
    close_reason: str | None
    timer_started_at_ms: int | None
    timer_expires_at_ms: int | None
    risk_blocked: bool
    skip_once: bool
    dust_quantity: Decimal  # closed: what it left unsold; open: Σ of its legs' dust
    pyramids: tuple[PyramidView, ...]
    sellable_quantity: Decimal = ZERO  # Σ of the legs' sellable quantities


@dataclass(frozen=True, slots=True)
class QueueEntryTerms:
    """What is stored of a queued signal (no rank, loss % or continuation: those move with
    every price and every open or close, and the stored row does not keep them)."""

    queue_id: str
    user_id: str
    signal_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: str
    entry_price: Decimal | None
    order_size: Decimal | None
    size_type: str
    reason: str
    replacement_count: int
    queued_at_ms: int
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class QueueEntryView:
    queue_id: str
    rank: int  # 1 = promoted first
    user_id: str
    signal_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: str
    entry_price: Decimal | None
    order_size: Decimal | None
    size_type: str
    reason: str
    replacement_count: int
    queued_at_ms: int
    updated_at_ms: int
    loss_percent: Decimal | None
    is_continuation: bool


@dataclass(frozen=True, slots=True)
class RiskGroupView:
    group_id: str
    symbol: str
    status: str
    unrealised_usd: Decimal | None
    unrealised_percent: Decimal | None
    timer_started_at_ms: int | None
    timer_expires_at_ms: int | None
    timer_expired: bool
    blocked: bool
    skip_once: bool
    loser_candidate: bool


@dataclass(frozen=True, slots=True)
class RiskStatusView:
    user_id: str
    last_run_at_ms: int | None
    next_run_at_ms: int | None
    loss_threshold_percent: Decimal
    groups: tuple[RiskGroupView, ...]


@dataclass(frozen=True, slots=True)
class MetricsView:
    user_id: str
    slots_used: int
    slots_total: int
    queue_length: int
    open_groups: int
    closed_groups: int
    committed_capital_usd: Decimal
    max_total_exposure_usd: Decimal
    realised_today_usd: Decimal
    max_daily_loss_usd: Decimal
    realised_total_usd: Decimal
    unrealised_total_usd: Decimal


@dataclass(frozen=True, slots=True)
class OrderView:
    client_order_id: str
    exchange_order_id: str
    user_id: str
    exchange: str
    symbol: str
    side: str
    type: str
    purpose: str
    quantity: Decimal
    price: Decimal | None
    status: str
    filled_quantity: Decimal
    average_price: Decimal | None
    fees: tuple[tuple[str, Decimal], ...]
    group_id: str
    pyramid_index: int | None
    leg_index: int | None
    cancel_requested: bool
    created_at_ms: int
    updated_at_ms: int


def _config(state: EngineState, user_id: str) -> UserConfig:
    config = state.users[user_id].config
    assert isinstance(config, UserConfig)
    return config


def _rules(state: EngineState, group: GroupState) -> MarketRules | None:
    rules = state.rules.get(group.exchange, {}).get(group.symbol)
    if rules is None:
        return None
    fallback = _config(state, group.user_id).risk_config.precision.fallback_rules
    resolved = resolve_rules(rules, fallback, block_on_missing=False)
    return resolved.rules if resolved.status is not RulesStatus.UNKNOWN else None


def _step(state: EngineState, group: GroupState) -> Decimal:
    """The group's step size, from the fallback rules when the market has none."""
    rules = _rules(state, group)
    if rules is not None and rules.step_size is not None:
        return rules.step_size
    return _config(state, group.user_id).risk_config.precision.fallback_rules.step_size


def _leg_status(state: EngineState, leg: LegState, step: Decimal) -> str:
    if leg.entry_order_id is None:
        return "not_placed"
    order = state.orders[leg.entry_order_id]
    flat = leg.open_quantity == 0 or (
        leg.closed_quantity > 0 and sellable(leg.open_quantity, step) == 0
    )
    if leg.filled_quantity > 0 and flat and not order.is_live:
        return "closed"
    if order.status is OrderStatus.FILLED:
        return "filled"
    if order.is_live:
        return "partially_filled" if leg.filled_quantity > 0 else "resting"
    if leg.filled_quantity > 0:
        return "filled"  # cancelled after a partial fill: what filled is the leg
    return order.status.value


def _leg_view(
    state: EngineState, group: GroupState, pyramid: PyramidState, leg: LegState, step: Decimal
) -> LegView:
    rules = _rules(state, group)
    # a closed group sells nothing more: what its legs still hold is all dust
    whole = sellable(leg.open_quantity, step) if group.is_open else ZERO
    average = leg.average_fill_price
    target = None
    if average is not None and rules is not None and group.settings.per_leg_tp:
        target = tp_price(average, leg.level.tp_percent, group.side, rules)
    return LegView(
        pyramid_index=pyramid.index,
        index=leg.index,
        gap_percent=leg.level.gap_percent,
        weight_percent=leg.level.weight_percent,
        tp_percent=leg.level.tp_percent,
        status=_leg_status(state, leg, step),
        price=leg.planned_price,
        quantity=leg.planned_quantity,
        filled_quantity=leg.filled_quantity,
        average_fill_price=average,
        open_quantity=leg.open_quantity,
        closed_quantity=leg.closed_quantity,
        realised_usd=leg.realised_usd,
        fees_usd=leg.fees_usd,
        fees=tuple(sorted(leg.fees.items())),
        tp_price=target,
        entry_order_id=leg.entry_order_id,
        tp_order_id=leg.tp_order_id,
        base_fee_quantity=leg.base_fee_quantity,
        sellable_quantity=whole,
        dust_quantity=leg.open_quantity - whole,
    )


def _timer_expires(state: EngineState, group: GroupState) -> int | None:
    if group.timer_started_at_ms is None:
        return None
    wait = _config(state, group.user_id).risk_config.post_full_wait_minutes
    return group.timer_started_at_ms + wait * 60_000


def group_view(state: EngineState, group: GroupState) -> GroupView:
    mark = state.mark(group.exchange, group.symbol)
    step = _step(state, group)
    pyramids = tuple(
        PyramidView(
            index=pyramid.index,
            signal_id=pyramid.signal_id,
            capital=pyramid.capital,
            entry_price=pyramid.entry_price,
            leg0_fill_price=pyramid.leg0_fill_price,
            status="failed"
            if pyramid.failed
            else "aggregate_closed"
            if pyramid.aggregate_closed
            else "open",
            created_at_ms=pyramid.created_at_ms,
            legs=tuple(_leg_view(state, group, pyramid, leg, step) for leg in pyramid.legs),
        )
        for pyramid in group.pyramids
    )
    placed = [leg for pyramid in group.pyramids for leg in pyramid.legs if leg.entry_order_id]
    filled = [
        leg for leg in placed if state.orders[str(leg.entry_order_id)].status is OrderStatus.FILLED
    ]
    whole = sum((leg.sellable_quantity for p in pyramids for leg in p.legs), ZERO)
    dust = group.dust_quantity if not group.is_open else group.open_quantity - whole
    return GroupView(
        group_id=group.group_id,
        user_id=group.user_id,
        exchange=group.exchange,
        symbol=group.symbol,
        timeframe=group.timeframe,
        side=group.side.value,
        status=group.status.value,
        pyramid_count=active_pyramid_count(group),
        max_pyramids=group.settings.max_pyramids,
        legs_filled=len(filled),
        legs_total=len(placed),
        filled_quantity=sum((leg.filled_quantity for leg in group.legs), ZERO),
        open_quantity=group.open_quantity,
        average_entry=group.average_entry,
        mark=mark,
        unrealised_usd=ZERO if mark is None else unrealised_usd(group, mark),
        unrealised_percent=None if mark is None else unrealised_percent(group, mark),
        realised_usd=group.realised_usd,
        fees_usd=sum((leg.fees_usd for leg in group.legs), ZERO),
        tp_mode=group.settings.tp_mode,
        stop_price=group.stop_price,
        take_profit_price=group.take_profit_price,
        created_at_ms=group.created_at_ms,
        updated_at_ms=group.updated_at_ms,
        closed_at_ms=group.closed_at_ms,
        close_reason=group.close_reason,
        timer_started_at_ms=group.timer_started_at_ms,
        timer_expires_at_ms=_timer_expires(state, group),
        risk_blocked=group.risk_blocked,
        skip_once=group.skip_once,
        dust_quantity=dust,
        pyramids=pyramids,
        sellable_quantity=ZERO if not group.is_open else whole,
    )


def order_view(order: OrderState) -> OrderView:
    return OrderView(
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_order_id,
        user_id=order.user_id,
        exchange=order.exchange,
        symbol=order.symbol,
        side=order.side.value,
        type=order.type.value,
        purpose=order.purpose.value,
        quantity=order.quantity,
        price=order.price,
        status=order.status.value,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        fees=tuple(sorted(order.fees.items())),
        group_id=order.group_id,
        pyramid_index=order.pyramid_index,
        leg_index=order.leg_index,
        cancel_requested=order.cancel_requested,
        created_at_ms=order.created_at_ms,
        updated_at_ms=order.updated_at_ms,
    )


def risk_status_view(state: EngineState, user: UserState) -> RiskStatusView:
    risk = _config(state, user.user_id).risk_config
    rows = []
    for group in state.open_groups(user.user_id):
        mark = state.mark(group.exchange, group.symbol)
        usd = None if mark is None else unrealised_usd(group, mark)
        percent = None if mark is None else unrealised_percent(group, mark)
        expires = _timer_expires(state, group)
        expired = expires is not None and expires <= state.now_ms
        old_enough = not risk.use_trade_age_filter or (
            state.now_ms - group.created_at_ms >= risk.age_threshold_minutes * 60_000
        )
        candidate = (
            expired
            and percent is not None
            and percent <= risk.loss_threshold_percent
            and old_enough
            and not group.risk_blocked
            and not group.skip_once
        )
        rows.append(
            RiskGroupView(
                group_id=group.group_id,
                symbol=group.symbol,
                status=group.status.value,
                unrealised_usd=usd,
                unrealised_percent=percent,
                timer_started_at_ms=group.timer_started_at_ms,
                timer_expires_at_ms=expires,
                timer_expired=expired,
                blocked=group.risk_blocked,
                skip_once=group.skip_once,
                loser_candidate=candidate,
            )
        )
    interval = risk.evaluate_interval_seconds * 1000
    last = user.last_risk_run_ms
    return RiskStatusView(
        user_id=user.user_id,
        last_run_at_ms=last,
        next_run_at_ms=None if last is None else last + interval,
        loss_threshold_percent=risk.loss_threshold_percent,
        groups=tuple(rows),
    )


def metrics_view(state: EngineState, user: UserState) -> MetricsView:
    risk = _config(state, user.user_id).risk_config
    groups = [group for group in state.groups.values() if group.user_id == user.user_id]
    open_groups = state.open_groups(user.user_id)
    unrealised = ZERO
    for group in open_groups:
        mark = state.mark(group.exchange, group.symbol)
        if mark is not None:
            unrealised += unrealised_usd(group, mark)
    return MetricsView(
        user_id=user.user_id,
        slots_used=len(open_groups),
        slots_total=risk.max_open_positions_global,
        queue_length=len(user.queue),
        open_groups=len(open_groups),
        closed_groups=sum(1 for group in groups if group.status is GroupStatus.CLOSED),
        committed_capital_usd=committed_capital(state, user.user_id),
        max_total_exposure_usd=risk.max_total_exposure_usd,
        realised_today_usd=daily_realised(user, state.now_ms),
        max_daily_loss_usd=risk.max_daily_loss_usd,
        realised_total_usd=sum((group.realised_usd for group in groups), ZERO),
        unrealised_total_usd=unrealised,
    )
