"""Pool slots and the signal queue (SPEC §7).

A slot is held by each open group (live, partially filled, active or closing). A queued
signal waits for one *blocking reason*, re-evaluated every time anything changes:
precision metadata missing, the group of its key closing, an open group on the opposite
side, the per-symbol limit, or a full pool. The highest-ranked entry with no blocking reason
is promoted (``engine.intake`` executes it).
"""

from __future__ import annotations

from decimal import Decimal

from engine.context import Context
from engine.domain import Category, GroupKey, GroupStatus, PositionSide, Reason, Severity, Signal
from engine.precision import RulesStatus
from engine.ranking import QueueCandidate, rank_queue, signal_loss_percent
from engine.state import EngineState, GroupState, QueueEntry, UserState

__all__ = [
    "GROUP_CLOSING",
    "slots_used",
    "pool_full",
    "symbol_count",
    "opposite_group_open",
    "find_queued",
    "enqueue",
    "replace_queued",
    "remove_queued",
    "blocking_reason",
    "queue_loss_percent",
    "is_continuation",
    "open_groups_by_key",
    "ranked_candidates",
    "ranked",
]

GROUP_CLOSING = Reason.GROUP_CLOSING.value


def slots_used(state: EngineState, user_id: str) -> int:
    return len(state.open_groups(user_id))


def pool_full(ctx: Context, user_id: str) -> bool:
    limit = ctx.config(user_id).risk_config.max_open_positions_global
    return slots_used(ctx.state, user_id) >= limit


def symbol_count(state: EngineState, user_id: str, exchange: str, symbol: str) -> int:
    """Open groups of the user on exchange + symbol, any timeframe and side."""
    return sum(
        1
        for group in state.open_groups(user_id)
        if group.exchange == exchange and group.symbol == symbol
    )


def opposite_group_open(state: EngineState, key: GroupKey) -> bool:
    other = PositionSide.SHORT if key.side is PositionSide.LONG else PositionSide.LONG
    opposite = GroupKey(key.user_id, key.exchange, key.symbol, key.timeframe, other)
    return state.open_group_for(opposite) is not None


def find_queued(user: UserState, key: GroupKey) -> QueueEntry | None:
    for entry in user.queue:
        if entry.key == key:
            return entry
    return None


def enqueue(ctx: Context, user: UserState, signal: Signal, reason: str) -> QueueEntry:
    ctx.state.counters.queue += 1
    number = ctx.state.counters.queue
    entry = QueueEntry(
        queue_id=f"qe{number}",
        signal=signal,
        queued_at_ms=ctx.now,
        sequence=number,
        reason=reason,
        updated_at_ms=ctx.now,
    )
    user.queue.append(entry)
    messages = {
        Reason.POOL_FULL.value: "Pool full, signal queued",
        Reason.OPPOSITE_SIDE_OPEN.value: "Opposite side signal, queuing until closure",
        Reason.PER_SYMBOL_LIMIT.value: "Per-symbol limit reached, signal queued",
        Reason.PRECISION_MISSING.value: "Precision metadata missing, signal queued",
        GROUP_CLOSING: "Group closing, signal queued until closure",
    }
    ctx.audit(
        Category.QUEUE,
        Severity.INFO,
        messages.get(reason, "Signal queued"),
        queue_id=entry.queue_id,
        signal_id=signal.signal_id,
        user_id=signal.user_id,
        exchange=signal.exchange,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        side=signal.side.value if signal.side else None,
        reason=reason,
    )
    return entry


def replace_queued(ctx: Context, entry: QueueEntry, signal: Signal) -> None:
    """New price, size and payload; one more replacement; the original queue time stays."""
    previous = entry.signal
    entry.signal = signal
    entry.replacement_count += 1
    entry.updated_at_ms = ctx.now
    ctx.audit(
        Category.QUEUE,
        Severity.INFO,
        "Queue entry replaced",
        queue_id=entry.queue_id,
        signal_id=signal.signal_id,
        replaced_signal_id=previous.signal_id,
        user_id=signal.user_id,
        symbol=signal.symbol,
        replacement_count=entry.replacement_count,
        entry_price=signal.entry_price,
        previous_entry_price=previous.entry_price,
    )


def remove_queued(ctx: Context, user: UserState, entry: QueueEntry, why: str) -> None:
    user.queue.remove(entry)
    ctx.audit(
        Category.QUEUE,
        Severity.INFO,
        why,
        queue_id=entry.queue_id,
        signal_id=entry.signal.signal_id,
        user_id=user.user_id,
        symbol=entry.signal.symbol,
    )


def is_continuation(state: EngineState, entry: QueueEntry) -> bool:
    group = state.open_group_for(entry.key)
    return group is not None


def blocking_reason(ctx: Context, signal: Signal, *, ignore_pool: bool = False) -> str | None:
    """Why an entry signal cannot be executed now, or ``None`` when it can."""
    state = ctx.state
    key = signal.group_key()
    resolution = ctx.resolve(signal.user_id, signal.exchange, signal.symbol)
    if resolution.status is RulesStatus.BLOCKED:
        return Reason.PRECISION_MISSING.value
    group = state.open_group_for(key)
    if group is not None:
        if group.status is GroupStatus.CLOSING:
            return GROUP_CLOSING
        bypass = "same_pair_timeframe" in ctx.config(signal.user_id).risk_config.priority_order
        if bypass or ignore_pool or not pool_full(ctx, signal.user_id):
            return None
        return Reason.POOL_FULL.value
    if opposite_group_open(state, key):
        return Reason.OPPOSITE_SIDE_OPEN.value
    limit = ctx.config(signal.user_id).risk_config.max_open_positions_per_symbol
    if symbol_count(state, signal.user_id, signal.exchange, signal.symbol) >= limit:
        return Reason.PER_SYMBOL_LIMIT.value
    if not ignore_pool and pool_full(ctx, signal.user_id):
        return Reason.POOL_FULL.value
    return None


def queue_loss_percent(state: EngineState, entry: QueueEntry) -> Decimal | None:
    """Current loss % of a queued signal: (mark − entry) / entry × 100 (flipped for shorts)."""
    signal = entry.signal
    mark = state.mark(signal.exchange, signal.symbol)
    if mark is None or signal.entry_price is None or signal.side is None:
        return None
    return signal_loss_percent(signal.entry_price, mark, signal.side)


def open_groups_by_key(state: EngineState) -> dict[GroupKey, GroupState]:
    """The open groups indexed by their key (one pass; the oldest wins a shared key, as in
    :meth:`EngineState.open_group_for`)."""
    index: dict[GroupKey, GroupState] = {}
    for group_id in state.open_group_ids:
        group = state.groups[group_id]
        index.setdefault(group.key, group)
    return index


def ranked_candidates(
    ctx: Context, user: UserState, entries: list[QueueEntry]
) -> list[tuple[QueueEntry, QueueCandidate]]:
    """``entries`` best first under the user's priority rules, each with the candidate it was
    ranked as (continuation and loss % computed once per entry; O(n log n) overall)."""
    open_by_key = open_groups_by_key(ctx.state)
    pairs = {
        entry.queue_id: (
            entry,
            QueueCandidate(
                queue_id=entry.queue_id,
                is_continuation=entry.key in open_by_key,
                loss_percent=queue_loss_percent(ctx.state, entry),
                replacement_count=entry.replacement_count,
                queued_at_ms=entry.queued_at_ms,
                sequence=entry.sequence,
            ),
        )
        for entry in entries
    }
    order = ctx.config(user.user_id).risk_config.priority_order
    candidates = [candidate for _, candidate in pairs.values()]
    return [pairs[candidate.queue_id] for candidate in rank_queue(candidates, order)]


def ranked(ctx: Context, user: UserState, entries: list[QueueEntry]) -> list[QueueEntry]:
    """``entries`` best first under the user's priority rules."""
    return [entry for entry, _ in ranked_candidates(ctx, user, entries)]
