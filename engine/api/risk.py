"""Risk engine: status per group, projected offset, actions taken, run now, manual controls
(SPEC §9)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from engine.api.convert import iso, num
from engine.api.deps import (
    AUTH_RESPONSES,
    ApiError,
    fresh_runtime,
    one_user,
    require_token,
    user_ids,
)
from engine.api.present import risk_action_model
from engine.api.schemas import (
    RiskActionModel,
    RiskControlResponse,
    RiskGroupModel,
    RiskPlanModel,
    RiskRunResponse,
)
from engine.domain.events import RiskControlRequested, RiskRunRequested
from engine.service.runtime import Runtime

__all__ = ["router", "risk_rows"]

router = APIRouter(tags=["risk"], dependencies=[Depends(require_token)])


def risk_rows(runtime: Runtime, user_id: str) -> list[RiskGroupModel]:
    """One row per open group: loss, timer, pyramids, age filter, eligibility and the reasons
    a group is not an eligible loser."""
    status = runtime.engine.risk_status(user_id)
    config = runtime.user_config(user_id)
    if status is None or config is None:
        return []
    risk = config.risk_config
    now = runtime.now_ms()
    rows: list[RiskGroupModel] = []
    for row in status.groups:
        group = runtime.engine.group(row.group_id)
        if group is None:
            continue
        age_minutes = max(0, now - group.created_at_ms) // 60_000
        age_ok = not risk.use_trade_age_filter or age_minutes >= risk.age_threshold_minutes
        reasons: list[str] = []
        if row.timer_started_at_ms is None:
            reasons.append("timer_not_started")
        elif not row.timer_expired:
            reasons.append("timer_running")
        if row.unrealised_percent is None:
            reasons.append("no_price")
        elif row.unrealised_percent > risk.loss_threshold_percent:
            reasons.append("above_loss_threshold")
        if not age_ok:
            reasons.append("too_young")
        if row.blocked:
            reasons.append("blocked")
        if row.skip_once:
            reasons.append("skip_once")
        remaining = None
        if row.timer_expires_at_ms is not None:
            remaining = max(0, (row.timer_expires_at_ms - now + 999) // 1000)
        rows.append(
            RiskGroupModel(
                user_id=user_id,
                group_id=row.group_id,
                symbol=row.symbol,
                exchange=group.exchange,
                status=row.status,
                loss_percent=None
                if row.unrealised_percent is None
                else num(row.unrealised_percent),
                loss_usd=None if row.unrealised_usd is None else num(row.unrealised_usd),
                timer_started_at=iso(row.timer_started_at_ms),
                timer_expires_at=iso(row.timer_expires_at_ms),
                timer_remaining_seconds=remaining,
                pyramids=group.pyramid_count,
                max_pyramids=group.max_pyramids,
                age_minutes=age_minutes,
                age_ok=age_ok,
                eligible=row.loser_candidate,
                blocked=row.blocked,
                skip_once=row.skip_once,
                reasons=reasons,
            )
        )
    return rows


@router.get("/risk", response_model=list[RiskGroupModel], responses=AUTH_RESPONSES)
async def risk_status(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> list[RiskGroupModel]:
    return [row for chosen in user_ids(runtime, user_id) for row in risk_rows(runtime, chosen)]


@router.get("/risk/plan", response_model=RiskPlanModel, responses=AUTH_RESPONSES)
async def risk_plan(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> RiskPlanModel:
    """The offset a risk cycle would execute now (computed on a copy of the engine)."""
    chosen = one_user(runtime, user_id)
    actions = runtime.projected_risk_actions(chosen)
    return RiskPlanModel(user_id=chosen, offset=risk_action_model(actions[0]) if actions else None)


@router.get("/risk/actions", response_model=list[RiskActionModel], responses=AUTH_RESPONSES)
async def risk_actions(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> list[RiskActionModel]:
    if user_id is not None:
        user_ids(runtime, user_id)
    return [risk_action_model(action) for action in runtime.store.list_risk_actions(user_id)]


@router.post("/risk/run", response_model=RiskRunResponse, responses=AUTH_RESPONSES)
async def risk_run(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> RiskRunResponse:
    """Run a risk cycle now (for one user, or every user)."""
    if user_id is not None:
        user_ids(runtime, user_id)
    decision = await runtime.submit(RiskRunRequested(runtime.now_ms(), user_id))
    return RiskRunResponse(actions=[risk_action_model(a) for a in decision.risk_actions])


async def _control(runtime: Runtime, group_id: str, action: str) -> RiskControlResponse:
    view = runtime.engine.group(group_id)
    if view is None:
        raise ApiError(404, "group_id", f"no group {group_id!r}", "unknown_group")
    await runtime.submit(RiskControlRequested(group_id, action, runtime.now_ms()))
    after = runtime.engine.group(group_id) or view
    return RiskControlResponse(
        group_id=group_id, action=action, blocked=after.risk_blocked, skip_once=after.skip_once
    )


@router.post("/risk/{group_id}/block", response_model=RiskControlResponse, responses=AUTH_RESPONSES)
async def block(group_id: str, runtime: Runtime = Depends(fresh_runtime)) -> RiskControlResponse:
    """Never pick this group as a loser until unblocked."""
    return await _control(runtime, group_id, "block")


@router.post(
    "/risk/{group_id}/unblock", response_model=RiskControlResponse, responses=AUTH_RESPONSES
)
async def unblock(group_id: str, runtime: Runtime = Depends(fresh_runtime)) -> RiskControlResponse:
    return await _control(runtime, group_id, "unblock")


@router.post(
    "/risk/{group_id}/skip-once", response_model=RiskControlResponse, responses=AUTH_RESPONSES
)
async def skip_once(
    group_id: str, runtime: Runtime = Depends(fresh_runtime)
) -> RiskControlResponse:
    """Skip this group in the next risk cycle only."""
    return await _control(runtime, group_id, "skip_once")
