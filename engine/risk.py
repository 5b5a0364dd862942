"""The risk engine's cycle (SPEC §9): pick the worst eligible loser, combine the best
winners, plan the offset (``engine.offset``) and send the closes as market orders with
purpose ``risk``. At most one offset per user per cycle; manual block / unblock / skip once.
"""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import sellable, unrealised_percent, unrealised_usd
from engine.closing import close_partially, has_close_in_flight, live_orders
from engine.context import Context
from engine.domain import (
    Category,
    GroupStatus,
    OrderPurpose,
    RiskAction,
    RiskWinnerClose,
    Severity,
)
from engine.ids import risk_action_id
from engine.offset import OffsetPlan, OffsetPosition, plan_offset
from engine.state import GroupState
from engine.timers import timer_expired

__all__ = ["RISK_CONTROL_ACTIONS", "risk_cycle_due", "run_cycle", "apply_control"]

RISK_CONTROL_ACTIONS = ("block", "unblock", "skip_once")


def risk_cycle_due(ctx: Context, user_id: str) -> bool:
    user = ctx.state.users[user_id]
    if user.last_risk_run_ms is None:
        return True
    interval = ctx.config(user_id).risk_config.evaluate_interval_seconds * 1000
    return ctx.now - user.last_risk_run_ms >= interval


def _position(ctx: Context, group: GroupState, mark: Decimal) -> OffsetPosition:
    rules = ctx.group_rules(group)
    assert rules.step_size is not None and rules.min_qty is not None
    average = group.average_entry
    assert average is not None
    return OffsetPosition(
        group_id=group.group_id,
        side=group.side,
        open_quantity=group.open_quantity,
        average_price=average,
        mark_price=mark,
        step_size=rules.step_size,
        min_qty=rules.min_qty,
        fee_rate=rules.taker_fee,
    )


def _risk_in_flight(ctx: Context, groups: list[GroupState]) -> bool:
    for group in groups:
        if any(intent.purpose is OrderPurpose.RISK for intent in group.intents):
            return True
        if any(order.purpose is OrderPurpose.RISK for order in live_orders(ctx, group)):
            return True
    return False


def run_cycle(ctx: Context, user_id: str, *, forced: bool = False) -> RiskAction | None:
    """One risk cycle for one user; returns the risk action taken, if any."""
    user = ctx.state.users[user_id]
    user.last_risk_run_ms = ctx.now
    groups = ctx.state.open_groups(user_id)
    skipped = {group.group_id for group in groups if group.skip_once}
    try:
        if _risk_in_flight(ctx, groups):
            return None
        return _offset(ctx, user_id, groups, skipped, forced=forced)
    finally:
        for group in groups:
            if group.group_id in skipped:
                group.skip_once = False


def _offset(
    ctx: Context, user_id: str, groups: list[GroupState], skipped: set[str], *, forced: bool
) -> RiskAction | None:
    risk = ctx.config(user_id).risk_config
    figures: dict[str, tuple[Decimal, Decimal, Decimal]] = {}  # id -> (usd, percent, mark)
    for group in groups:
        if group.status is GroupStatus.CLOSING:
            continue
        step = ctx.group_rules(group).step_size
        assert step is not None
        if sellable(group.open_quantity, step) <= 0:
            continue  # nothing a close order could carry (dust only)
        if has_close_in_flight(ctx, group):
            continue
        mark = ctx.mark(group.exchange, group.symbol)
        if mark is None:
            continue
        percent = unrealised_percent(group, mark)
        if percent is None:
            continue
        figures[group.group_id] = (unrealised_usd(group, mark), percent, mark)
    by_id = {group.group_id: group for group in groups}
    losers = []
    for group_id, (_, percent, _) in figures.items():
        group = by_id[group_id]
        if group.risk_blocked or group_id in skipped:
            continue
        if not timer_expired(ctx, group) or percent > risk.loss_threshold_percent:
            continue
        age_ms = ctx.now - group.created_at_ms
        if risk.use_trade_age_filter and age_ms < risk.age_threshold_minutes * 60_000:
            continue
        losers.append(group)
    if not losers:
        if forced:
            ctx.audit(
                Category.RISK, Severity.INFO, "Risk cycle: no eligible loser", user_id=user_id
            )
        return None
    # highest loss % first, then the highest USD loss, then the oldest
    losers.sort(
        key=lambda g: (figures[g.group_id][1], figures[g.group_id][0], g.created_at_ms, g.group_id)
    )
    loser = losers[0]
    winners = [
        by_id[group_id]
        for group_id, (usd, _, _) in figures.items()
        if group_id != loser.group_id
        and usd > 0
        and not by_id[group_id].risk_blocked
        and group_id not in skipped
    ]
    winners.sort(key=lambda g: (-figures[g.group_id][0], g.created_at_ms, g.group_id))
    winners = winners[: risk.max_winners_to_combine]
    loser_usd, loser_percent, loser_mark = figures[loser.group_id]
    if not winners:
        ctx.audit(
            Category.RISK,
            Severity.INFO,
            "Risk engine: loser found but no winner to offset it",
            user_id=user_id,
            loser_group_id=loser.group_id,
            loss_percent=loser_percent,
            loss_usd=loser_usd,
        )
        return None
    plan = plan_offset(
        _position(ctx, loser, loser_mark),
        [_position(ctx, w, figures[w.group_id][2]) for w in winners],
        partial_close_enabled=risk.partial_close_enabled,
        min_close_notional=risk.min_close_notional,
    )
    if plan is None:
        ctx.audit(
            Category.RISK,
            Severity.INFO,
            "Risk engine: winners cannot cover any part of the loss; nothing closed",
            user_id=user_id,
            loser_group_id=loser.group_id,
            loss_percent=loser_percent,
            loss_usd=loser_usd,
            winners=[w.group_id for w in winners],
        )
        return None
    return _execute(ctx, user_id, loser, loser_percent, loser_usd, plan, by_id)


def _execute(
    ctx: Context,
    user_id: str,
    loser: GroupState,
    loser_percent: Decimal,
    loser_usd: Decimal,
    plan: OffsetPlan,
    by_id: dict[str, GroupState],
) -> RiskAction:
    ctx.state.counters.risk_actions += 1
    action_id = risk_action_id(ctx.state.counters.risk_actions)
    action = RiskAction(
        action_id=action_id,
        user_id=user_id,
        loser_group_id=loser.group_id,
        loser_loss_percent=loser_percent,
        loser_loss_usd=loser_usd,
        loser_close_quantity=plan.loser_close_quantity,
        covered_usd=plan.covered_usd,
        winners=tuple(
            RiskWinnerClose(close.group_id, close.quantity, close.realised_usd)
            for close in plan.winner_closes
        ),
        net_usd=plan.net_usd,
        at_ms=ctx.now,
    )
    ctx.decision.risk_actions.append(action)
    ctx.audit(
        Category.RISK,
        Severity.WARNING,
        "Risk engine activated",
        action_id=action_id,
        user_id=user_id,
        loser_group_id=loser.group_id,
        symbol=loser.symbol,
        exchange=loser.exchange,
        loss_percent=loser_percent,
        loss_usd=loser_usd,
        loser_close_quantity=plan.loser_close_quantity,
        loser_realised_usd=plan.loser_realised_usd,
        required_usd=plan.required_usd,
        available_usd=plan.available_usd,
        covered_usd=plan.covered_usd,
        winners=[
            {
                "group_id": close.group_id,
                "symbol": by_id[close.group_id].symbol,
                "quantity": close.quantity,
                "realised_usd": close.realised_usd,
            }
            for close in plan.winner_closes
        ],
        net_usd=plan.net_usd,
    )
    close_partially(ctx, loser, plan.loser_close_quantity, OrderPurpose.RISK, action_id)
    for close in plan.winner_closes:
        close_partially(ctx, by_id[close.group_id], close.quantity, OrderPurpose.RISK, action_id)
    return action


def apply_control(ctx: Context, group_id: str, action: str) -> None:
    """Manual risk control on one group: block, unblock or skip the next cycle."""
    group = ctx.state.groups.get(group_id)
    if group is None:
        ctx.audit(
            Category.RISK,
            Severity.ERROR,
            "Risk control for an unknown group",
            field="group_id",
            reason="unknown_group",
            group_id=group_id,
        )
        return
    if action not in RISK_CONTROL_ACTIONS:
        ctx.audit(
            Category.RISK,
            Severity.ERROR,
            "Unknown risk control action",
            field="action",
            reason="invalid_action",
            group_id=group_id,
            action=action,
        )
        return
    if action == "block":
        group.risk_blocked = True
    elif action == "unblock":
        group.risk_blocked = False
    else:
        group.skip_once = True
    ctx.audit(
        Category.RISK,
        Severity.INFO,
        f"Risk control: {action}",
        group_id=group_id,
        user_id=group.user_id,
        action=action,
    )
    ctx.touch(group)
