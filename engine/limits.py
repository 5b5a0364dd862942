"""Pre-trade limits (SPEC §8): committed-capital exposure and the daily realised-loss stop."""

from __future__ import annotations

from decimal import Decimal

from engine.accounting import utc_day
from engine.config import RiskConfig
from engine.domain import ZERO, Reason
from engine.state import EngineState, UserState

__all__ = [
    "committed_capital",
    "exposure_breach",
    "daily_realised",
    "daily_loss_breach",
]


def committed_capital(state: EngineState, user_id: str) -> Decimal:
    """Σ over the user's open groups of the cost of the open filled quantity plus the
    notional of entry orders still resting (remaining quantity × their price; a market
    entry in flight counts at the price it was sized with)."""
    total = ZERO
    for group in state.open_groups(user_id):
        total += group.open_cost
        for order_id in group.order_ids:
            order = state.orders[order_id]
            if order.is_entry and order.is_live:
                total += order.remaining_quantity * order.reference_price
    return total


def exposure_breach(
    state: EngineState, risk: RiskConfig, user_id: str, new_capital: Decimal
) -> Reason | None:
    """``exposure_limit`` when committed capital + the new pyramid's capital is above
    ``max_total_exposure_usd`` (equal is allowed)."""
    if committed_capital(state, user_id) + new_capital > risk.max_total_exposure_usd:
        return Reason.EXPOSURE_LIMIT
    return None


def daily_realised(user: UserState, now_ms: int) -> Decimal:
    """Realised PnL booked during the current UTC day of the engine clock (every close,
    partial ones included, and fees)."""
    return user.realised_by_day.get(utc_day(now_ms), ZERO)


def daily_loss_breach(user: UserState, risk: RiskConfig, now_ms: int) -> Reason | None:
    """``daily_loss_limit`` once today's realised PnL is <= −max_daily_loss_usd."""
    if daily_realised(user, now_ms) <= -risk.max_daily_loss_usd:
        return Reason.DAILY_LOSS_LIMIT
    return None
