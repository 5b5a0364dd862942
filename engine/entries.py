"""Entry signals (SPEC §2, §4, §7, §8): rejection checks, queueing or replacement, and the
execution of a new group or pyramid after the pre-trade limits."""

from __future__ import annotations

from decimal import Decimal

from engine.context import Context
from engine.domain import (
    Category,
    GroupKey,
    MarketType,
    Outcome,
    PositionSide,
    Reason,
    RefreshMarketRules,
    Severity,
    Signal,
)
from engine.entries_result import Result, rejected
from engine.grid import validate_pyramid
from engine.lifecycle import add_pyramid, open_group, settings_from_config
from engine.limits import daily_loss_breach, exposure_breach
from engine.math_checks import InvalidInput
from engine.pool import (
    blocking_reason,
    enqueue,
    find_queued,
    replace_queued,
)
from engine.precision import RulesStatus
from engine.signals import signal_capital, signal_max_slippage_percent
from engine.state import GroupSettings, QueueEntry, UserState
from engine.timers import active_pyramid_count, reset_timer

__all__ = ["route_entry", "execute_entry", "Result", "rejected"]

_HUNDRED = Decimal(100)


def _settings_for(ctx: Context, key: GroupKey) -> tuple[GroupSettings, int]:
    group = ctx.state.open_group_for(key)
    if group is not None:
        return group.settings, active_pyramid_count(group)
    return settings_from_config(ctx.config(key.user_id)), 0


def _static_rejection(ctx: Context, user: UserState, signal: Signal) -> Reason | None:
    """Reasons that reject an entry whatever the pool and queue look like."""
    if signal.side is None:
        return Reason.INVALID_SIGNAL
    if user.exchange_states.get(signal.exchange) == "auth_failed":
        return Reason.EXCHANGE_AUTH_FAILED
    resolution = ctx.resolve(user.user_id, signal.exchange, signal.symbol)
    if resolution.status is RulesStatus.UNKNOWN:
        return Reason.UNKNOWN_SYMBOL
    raw = ctx.raw_rules(signal.exchange, signal.symbol)
    if raw is not None and raw.market_type is MarketType.SPOT and signal.side is PositionSide.SHORT:
        return Reason.SHORT_NOT_SUPPORTED_ON_SPOT
    config = ctx.config(user.user_id)
    if daily_loss_breach(user, config.risk_config, ctx.now) is not None:
        return Reason.DAILY_LOSS_LIMIT
    group = ctx.state.open_group_for(signal.group_key())
    if group is not None and active_pyramid_count(group) >= group.settings.max_pyramids:
        return Reason.MAX_PYRAMIDS_REACHED
    return None


def _sizing(
    ctx: Context, signal: Signal, *, promoted: bool, settings: GroupSettings
) -> tuple[Decimal, Decimal] | None:
    """(entry price to plan leg 0 with, capital) or ``None`` when no price is known.

    A fresh signal uses its own entry price (else the mark). A promoted signal goes at
    market from the current mark, or at its own price when leg 0 is a limit."""
    mark = ctx.mark(signal.exchange, signal.symbol)
    if promoted and settings.entry_order_type == "market":
        price = mark if mark is not None else signal.entry_price
    else:
        price = signal.entry_price if signal.entry_price is not None else mark
    if price is None:
        return None
    capital = signal_capital(signal, signal.entry_price or price)
    if capital is None:
        capital = ctx.config(signal.user_id).dca_grid_config.default_capital_usd
    return price, capital


def _grid_rejection(ctx: Context, signal: Signal, *, promoted: bool) -> Reason | None:
    settings, index = _settings_for(ctx, signal.group_key())
    sizing = _sizing(ctx, signal, promoted=promoted, settings=settings)
    if sizing is None:
        return Reason.NO_PRICE
    price, capital = sizing
    resolution = ctx.resolve(signal.user_id, signal.exchange, signal.symbol)
    assert resolution.rules is not None and signal.side is not None
    try:
        problem = validate_pyramid(
            capital,
            settings.levels_for(index),
            price,
            signal.side,
            resolution.rules,
            settings.entry_order_type,
        )
    except InvalidInput as exc:  # e.g. a signal built by hand with a zero price or size
        ctx.audit(
            Category.WEBHOOK,
            Severity.ERROR,
            "Signal cannot be sized",
            signal_id=signal.signal_id,
            field=exc.field,
            reason=exc.code,
            detail=exc.detail,
        )
        return Reason.INVALID_SIGNAL
    return None if problem is None else problem.reason


def route_entry(ctx: Context, user: UserState, signal: Signal) -> Result:
    rejection = _static_rejection(ctx, user, signal)
    if rejection is not None:
        return rejected(rejection)
    key = signal.group_key()
    existing = find_queued(user, key)
    resolution = ctx.resolve(user.user_id, signal.exchange, signal.symbol)
    if resolution.status is RulesStatus.BLOCKED:
        ctx.emit(RefreshMarketRules(signal.exchange, signal.symbol))
        ctx.audit(
            Category.PRECISION,
            Severity.ERROR,
            "Precision metadata missing; signal waits for a refresh",
            signal_id=signal.signal_id,
            user_id=user.user_id,
            exchange=signal.exchange,
            symbol=signal.symbol,
            missing=list(resolution.missing) or ["all"],
        )
        return _queue_or_replace(ctx, user, signal, existing, Reason.PRECISION_MISSING.value)
    rejection = _grid_rejection(ctx, signal, promoted=False)
    if rejection is not None:
        return rejected(rejection)
    if existing is not None:
        return _queue_or_replace(ctx, user, signal, existing, existing.reason)
    reason = blocking_reason(ctx, signal)
    if reason is not None:
        return _queue_or_replace(ctx, user, signal, None, reason)
    return execute_entry(ctx, user, signal, promoted=False)


def _queue_or_replace(
    ctx: Context, user: UserState, signal: Signal, existing: QueueEntry | None, reason: str
) -> Result:
    if existing is None:
        entry = enqueue(ctx, user, signal, reason)
        return Result(Outcome.QUEUED.value, reason, None, entry.queue_id)
    replace_queued(ctx, existing, signal)
    group = ctx.state.open_group_for(existing.key)
    if group is not None and ctx.config(user.user_id).risk_config.reset_timer_on_replacement:
        reset_timer(ctx, group, "queue replacement")
    return Result(Outcome.REPLACED.value, existing.reason, None, existing.queue_id)


def execute_entry(ctx: Context, user: UserState, signal: Signal, *, promoted: bool) -> Result:
    """Open a group or add a pyramid now, after the pre-trade limits (SPEC §8)."""
    rejection = _static_rejection(ctx, user, signal)
    if rejection is None:
        rejection = _grid_rejection(ctx, signal, promoted=promoted)
    if rejection is not None:
        return rejected(rejection)
    key = signal.group_key()
    settings, _ = _settings_for(ctx, key)
    sizing = _sizing(ctx, signal, promoted=promoted, settings=settings)
    assert sizing is not None and signal.side is not None
    price, capital = sizing
    config = ctx.config(user.user_id)
    exposure = exposure_breach(ctx.state, config.risk_config, user.user_id, capital)
    if exposure is not None:
        return rejected(exposure)
    slippage = _slippage_rejection(ctx, signal, settings, price)
    if slippage is not None:
        return rejected(slippage)
    resolution = ctx.resolve(user.user_id, signal.exchange, signal.symbol)
    assert resolution.rules is not None
    if resolution.status is RulesStatus.FALLBACK:
        ctx.audit(
            Category.PRECISION,
            Severity.WARNING,
            "Incomplete precision metadata: fallback rules used",
            signal_id=signal.signal_id,
            exchange=signal.exchange,
            symbol=signal.symbol,
            missing=list(resolution.missing),
        )
    group = ctx.state.open_group_for(key)
    if group is None:
        group = open_group(ctx, key, signal, capital, price, resolution.rules)
        return Result(Outcome.OPENED.value, None, group.group_id)
    add_pyramid(ctx, group, signal, capital, price, resolution.rules)
    return Result(Outcome.PYRAMID.value, None, group.group_id)


def _slippage_rejection(
    ctx: Context, signal: Signal, settings: GroupSettings, price: Decimal
) -> Reason | None:
    """Market-order guard: the mark may not be further than max_slippage_percent from the
    price the signal was sized at (``warn`` logs it, ``reject`` refuses the entry)."""
    first = settings.levels_for(0)[0]
    if settings.entry_order_type != "market" or first.gap_percent != 0:
        return None
    mark = ctx.mark(signal.exchange, signal.symbol)
    if mark is None or price == 0:
        return None
    risk = ctx.config(signal.user_id).risk_config
    limit = signal_max_slippage_percent(signal)
    if limit is None:
        limit = risk.max_slippage_percent
    slippage = abs(mark - price) / price * _HUNDRED
    if slippage <= limit:
        return None
    ctx.audit(
        Category.ORDER,
        Severity.WARNING,
        "Market entry slippage above the limit",
        signal_id=signal.signal_id,
        symbol=signal.symbol,
        slippage_percent=slippage,
        limit_percent=limit,
        action=risk.slippage_action,
    )
    return Reason.SLIPPAGE_EXCEEDED if risk.slippage_action == "reject" else None
