"""Queue promotion (SPEC §7): automatic promotion when a slot or condition frees, and the
manual promote / force-add / remove actions."""

from __future__ import annotations

from engine.context import Context
from engine.domain import (
    Category,
    Outcome,
    Reason,
    Severity,
)
from engine.entries import execute_entry
from engine.entries_result import Result
from engine.pool import (
    blocking_reason,
    ranked,
    remove_queued,
)
from engine.precision import RulesStatus
from engine.state import QueueEntry, UserState

__all__ = ["promote", "manual_promote", "manual_remove"]


def _promote_entry(
    ctx: Context, user: UserState, entry: QueueEntry, *, force: bool, message: str
) -> Result:
    user.queue.remove(entry)
    result = execute_entry(ctx, user, entry.signal, promoted=True)
    ctx.audit(
        Category.QUEUE,
        Severity.INFO if result.outcome != Outcome.REJECTED.value else Severity.WARNING,
        message,
        queue_id=entry.queue_id,
        signal_id=entry.signal.signal_id,
        user_id=user.user_id,
        symbol=entry.signal.symbol,
        outcome=result.outcome,
        reason=result.reason,
        group_id=result.group_id,
        forced=force,
    )
    ctx.outcome(
        entry.signal.signal_id, result.outcome, result.reason, result.group_id, entry.queue_id
    )
    return result


def promote(ctx: Context, user_id: str) -> None:
    """Execute queued signals, best ranked first, while any can go (SPEC §7)."""
    user = ctx.user(user_id)
    if user is None:
        return
    while user.queue:
        promotable: list[QueueEntry] = []
        for entry in list(user.queue):
            resolution = ctx.resolve(user_id, entry.signal.exchange, entry.signal.symbol)
            if resolution.status is RulesStatus.UNKNOWN:
                user.queue.remove(entry)
                ctx.outcome(
                    entry.signal.signal_id,
                    Outcome.REJECTED.value,
                    Reason.UNKNOWN_SYMBOL.value,
                    None,
                    entry.queue_id,
                )
                ctx.audit(
                    Category.QUEUE,
                    Severity.WARNING,
                    "Queued signal's symbol is unknown after the refresh; removed",
                    queue_id=entry.queue_id,
                    signal_id=entry.signal.signal_id,
                    symbol=entry.signal.symbol,
                )
                continue
            reason = blocking_reason(ctx, entry.signal)
            if reason is not None:
                entry.reason = reason
                continue
            promotable.append(entry)
        if not promotable:
            return
        best = ranked(ctx, user, promotable)[0]
        _promote_entry(ctx, user, best, force=False, message="Queue entry promoted")


def _find_entry(ctx: Context, queue_id: str) -> tuple[UserState, QueueEntry] | None:
    for user in ctx.state.users.values():
        for entry in user.queue:
            if entry.queue_id == queue_id:
                return user, entry
    ctx.audit(
        Category.QUEUE,
        Severity.ERROR,
        "Queue action for an unknown queue entry",
        field="queue_id",
        reason="unknown_queue_entry",
        queue_id=queue_id,
    )
    return None


def manual_promote(ctx: Context, queue_id: str, *, force: bool) -> None:
    """Promote one entry now: if a slot is free, or ignoring the pool limit (``force``)."""
    found = _find_entry(ctx, queue_id)
    if found is None:
        return
    user, entry = found
    reason = blocking_reason(ctx, entry.signal, ignore_pool=force)
    if reason is not None:
        ctx.audit(
            Category.QUEUE,
            Severity.WARNING,
            "Queue entry cannot be promoted now",
            queue_id=queue_id,
            signal_id=entry.signal.signal_id,
            reason=reason,
        )
        return
    message = "Queue entry force-added" if force else "Queue entry promoted manually"
    _promote_entry(ctx, user, entry, force=force, message=message)


def manual_remove(ctx: Context, queue_id: str) -> None:
    found = _find_entry(ctx, queue_id)
    if found is None:
        return
    user, entry = found
    remove_queued(ctx, user, entry, "Queue entry removed manually")
    ctx.touch_user(user.user_id)
