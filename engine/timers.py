"""The risk timer of a group (SPEC §9): when it starts, when it expires, when it restarts."""

from __future__ import annotations

from engine.context import Context
from engine.domain import Category, Severity
from engine.state import EngineState, GroupState

__all__ = [
    "active_pyramid_count",
    "all_dca_filled",
    "timer_condition_holds",
    "timer_expires_at",
    "timer_expired",
    "update_timer",
    "reset_timer",
]


def active_pyramid_count(group: GroupState) -> int:
    """Pyramids that count towards ``max_pyramids`` (a pyramid whose entry never filled
    does not)."""
    return sum(1 for pyramid in group.pyramids if not pyramid.failed)


def all_dca_filled(state: EngineState, group: GroupState) -> bool:
    """Every placed entry leg of every pyramid is filled: leg 0 done and every placed leg's
    order complete. A leg that was never placed (below the minimum) does not count."""
    if active_pyramid_count(group) == 0:
        return False
    for pyramid in group.pyramids:
        if pyramid.failed:
            continue
        if not pyramid.dca_placed:
            return False
        for leg in pyramid.legs:
            if leg.entry_order_id is None:
                continue
            if state.orders[leg.entry_order_id].is_live:
                return False
    return True


def timer_condition_holds(ctx: Context, group: GroupState) -> bool:
    risk = ctx.config(group.user_id).risk_config
    full = active_pyramid_count(group) >= group.settings.max_pyramids
    if risk.timer_start_condition == "after_max_pyramids":
        return full
    filled = all_dca_filled(ctx.state, group)
    return filled and (full or not risk.require_full_pyramids)


def timer_expires_at(ctx: Context, group: GroupState) -> int | None:
    if group.timer_started_at_ms is None:
        return None
    wait = ctx.config(group.user_id).risk_config.post_full_wait_minutes
    return group.timer_started_at_ms + wait * 60_000


def timer_expired(ctx: Context, group: GroupState) -> bool:
    expires = timer_expires_at(ctx, group)
    return expires is not None and expires <= ctx.now


def update_timer(ctx: Context, group: GroupState) -> None:
    """Start the timer the first time its condition holds. Once started it keeps running
    (only ``reset_timer_on_replacement`` restarts it)."""
    if group.timer_started_at_ms is not None:
        return
    if not timer_condition_holds(ctx, group):
        return
    group.timer_started_at_ms = ctx.now
    ctx.audit(
        Category.RISK,
        Severity.INFO,
        "Risk timer started",
        group_id=group.group_id,
        user_id=group.user_id,
        symbol=group.symbol,
        expires_at_ms=timer_expires_at(ctx, group),
    )


def reset_timer(ctx: Context, group: GroupState, cause: str) -> None:
    """Restart the timer: it starts again from now if its condition still holds, else when
    it next holds."""
    had_timer = group.timer_started_at_ms is not None
    group.timer_started_at_ms = None
    if had_timer:
        ctx.audit(
            Category.RISK,
            Severity.INFO,
            "Risk timer reset",
            group_id=group.group_id,
            user_id=group.user_id,
            cause=cause,
        )
    update_timer(ctx, group)
