"""Signals in (SPEC §2, §6.5): duplicates, then entries (``engine.entries``), exits,
``reduce`` and ``reverse``."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.accounting import sellable
from engine.closing import begin_close, close_partially
from engine.context import Context
from engine.domain import (
    Category,
    GroupKey,
    GroupStatus,
    OrderPurpose,
    Outcome,
    PositionSide,
    Reason,
    Severity,
    Signal,
    SignalType,
    round_down,
)
from engine.entries import route_entry
from engine.entries_result import Result, rejected
from engine.pool import (
    find_queued,
    remove_queued,
)
from engine.precision import check_minimums
from engine.state import UserState

__all__ = ["USER_NOT_CONFIGURED", "handle_signal"]

USER_NOT_CONFIGURED = Reason.USER_NOT_CONFIGURED.value
_HUNDRED = Decimal(100)


def handle_signal(ctx: Context, signal: Signal, *, deduplicated: bool = False) -> None:
    """SPEC §2/§3 intake. With ``deduplicated`` the caller has done the duplicate check: no
    fingerprint is checked or kept (the engine's snapshot does not grow with every signal)."""
    user = ctx.user(signal.user_id)
    if user is None:
        _finish(ctx, signal, rejected(USER_NOT_CONFIGURED))
        return
    config = ctx.config(user.user_id)
    window_ms = 0 if deduplicated else config.dca_grid_config.duplicate_window_seconds * 1000
    if user.fingerprints:
        window = config.dca_grid_config.duplicate_window_seconds * 1000
        for fingerprint, at_ms in list(user.fingerprints.items()):
            if ctx.now - at_ms >= window:
                del user.fingerprints[fingerprint]
    if not deduplicated and signal.fingerprint in user.fingerprints:
        ctx.audit(
            Category.WEBHOOK,
            Severity.WARNING,
            "Duplicate signal rejected",
            signal_id=signal.signal_id,
            user_id=user.user_id,
            symbol=signal.symbol,
            fingerprint=signal.fingerprint,
            first_seen_at_ms=user.fingerprints[signal.fingerprint],
        )
        ctx.outcome(signal.signal_id, Outcome.DUPLICATE.value)
        return
    if window_ms > 0:
        user.fingerprints[signal.fingerprint] = ctx.now
    ctx.audit(
        Category.WEBHOOK,
        Severity.INFO,
        "Signal received",
        signal_id=signal.signal_id,
        user_id=user.user_id,
        exchange=signal.exchange,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        type=signal.type.value,
        side=signal.side.value if signal.side else None,
        entry_price=signal.entry_price,
        order_size=signal.order_size,
    )
    if not config.allows_exchange(signal.exchange):
        result = rejected(Reason.EXCHANGE_NOT_CONFIGURED)
    elif signal.type is SignalType.SIGNAL:
        result = route_entry(ctx, user, signal)
    elif signal.type is SignalType.EXIT:
        result = _exit(ctx, user, signal)
    elif signal.type is SignalType.REDUCE:
        result = _reduce(ctx, user, signal)
    else:
        result = _reverse(ctx, user, signal)
    _finish(ctx, signal, result)


def _finish(ctx: Context, signal: Signal, result: Result) -> None:
    if result.outcome == Outcome.REJECTED.value:
        ctx.audit(
            Category.WEBHOOK,
            Severity.WARNING,
            "Signal rejected",
            signal_id=signal.signal_id,
            user_id=signal.user_id,
            exchange=signal.exchange,
            symbol=signal.symbol,
            reason=result.reason,
        )
    ctx.outcome(signal.signal_id, result.outcome, result.reason, result.group_id, result.queue_id)


def _sides(signal: Signal) -> tuple[PositionSide, ...]:
    return (signal.side,) if signal.side is not None else (PositionSide.LONG, PositionSide.SHORT)


def _remove_queued_for(ctx: Context, user: UserState, keys: list[GroupKey]) -> bool:
    removed = False
    for key in keys:
        entry = find_queued(user, key)
        if entry is not None:
            remove_queued(ctx, user, entry, "Exit for queued signal, removing from queue")
            removed = True
    return removed


def _exit(ctx: Context, user: UserState, signal: Signal) -> Result:
    """Close the open group(s) the exit names and drop the queued entries of the same side.

    With a side: that side's group and queued entry. Without one (SPEC §2: "the side of the
    open group"): the open group(s) of the key and the queued entries of *their* sides, so a
    signal of the opposite side waiting for the group to close (``opposite_side_open``,
    SPEC §7) stays queued and is promoted when the group has closed. With nothing open, a
    sideless exit removes the key's queued entries of both sides (the strategy is flat).
    """
    keys = [signal.group_key(side) for side in _sides(signal)]
    groups = [g for g in (ctx.state.open_group_for(key) for key in keys) if g is not None]
    if groups and signal.side is None:
        keys = [group.key for group in groups]
    removed = _remove_queued_for(ctx, user, keys)
    for group in groups:
        begin_close(ctx, group, OrderPurpose.EXIT, "exit_signal")
    if groups:
        return Result(Outcome.EXITED.value, None, groups[0].group_id)
    if removed:
        return Result(Outcome.EXIT_REMOVED_QUEUED.value)
    return Result(Outcome.EXIT_NOOP.value, Reason.NOTHING_OPEN.value)


def _reduce(ctx: Context, user: UserState, signal: Signal) -> Result:
    percent = signal.order_size
    if percent is None or percent <= 0 or percent > _HUNDRED:
        return rejected(Reason.INVALID_SIGNAL)
    keys = [signal.group_key(side) for side in _sides(signal)]
    groups = [g for g in (ctx.state.open_group_for(key) for key in keys) if g is not None]
    if not groups:
        return Result(Outcome.EXIT_NOOP.value, Reason.NOTHING_OPEN.value)
    group = groups[0]
    rules = ctx.group_rules(group)
    assert rules.step_size is not None
    available = group.available_quantity
    most = sellable(available, rules.step_size)  # net of base-asset fees, whole steps
    if group.status is GroupStatus.CLOSING or most <= 0:
        return Result(Outcome.EXIT_NOOP.value, Reason.NOTHING_OPEN.value, group.group_id)
    if percent == _HUNDRED:
        begin_close(ctx, group, OrderPurpose.REDUCE, "reduce")
        return Result(Outcome.REDUCED.value, None, group.group_id)
    quantity = round_down(available * percent / _HUNDRED, rules.step_size)
    price = ctx.mark(group.exchange, group.symbol) or group.average_entry
    assert price is not None
    problem = check_minimums(quantity, price, rules)
    if problem is not None and quantity < most:
        return rejected(problem, group.group_id)
    close_partially(ctx, group, quantity, OrderPurpose.REDUCE)
    ctx.audit(
        Category.ORDER,
        Severity.INFO,
        "Reduce signal: partial close",
        group_id=group.group_id,
        percent=percent,
        quantity=quantity,
    )
    return Result(Outcome.REDUCED.value, None, group.group_id)


def _reverse(ctx: Context, user: UserState, signal: Signal) -> Result:
    if signal.side is None:
        return rejected(Reason.INVALID_SIGNAL)
    other = PositionSide.SHORT if signal.side is PositionSide.LONG else PositionSide.LONG
    opposite_key = signal.group_key(other)
    removed = _remove_queued_for(ctx, user, [opposite_key])
    opposite = ctx.state.open_group_for(opposite_key)
    if opposite is not None:
        begin_close(ctx, opposite, OrderPurpose.EXIT, "reverse")
    entry = route_entry(ctx, user, replace(signal, type=SignalType.SIGNAL))
    if opposite is None and not removed:
        return entry
    reason = entry.reason if entry.outcome == Outcome.REJECTED.value else entry.outcome
    group_id = entry.group_id or (opposite.group_id if opposite is not None else None)
    return Result(Outcome.REVERSED.value, reason, group_id, entry.queue_id)
