"""Positions and the pool: ``/positions``, ``/positions/{group_id}``, close, ``/pool``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from engine.api.deps import AUTH_RESPONSES, ApiError, fresh_runtime, one_user, require_token
from engine.api.present import group_model
from engine.api.schemas import CloseResponse, GroupModel, PoolModel
from engine.domain.events import ClosePositionRequested
from engine.service.runtime import Runtime

__all__ = ["router", "OPEN_STATUSES"]

router = APIRouter(tags=["positions"], dependencies=[Depends(require_token)])

OPEN_STATUSES = ("live", "partially_filled", "active", "closing")


@router.get("/positions", response_model=list[GroupModel], responses=AUTH_RESPONSES)
async def list_positions(
    user_id: str | None = None,
    status: Literal["open", "closed", "all"] = Query(
        default="open", description="open (holding a slot), closed (closed or failed), all"
    ),
    runtime: Runtime = Depends(fresh_runtime),
) -> list[GroupModel]:
    if user_id is not None and user_id not in runtime.engine.users():
        raise ApiError(404, "user_id", f"no user {user_id!r}", "unknown_user")
    views = runtime.engine.groups(user_id)
    if status == "open":
        views = [view for view in views if view.status in OPEN_STATUSES]
    elif status == "closed":
        views = [view for view in views if view.status not in OPEN_STATUSES]
    return [group_model(view) for view in views]


@router.get("/positions/{group_id}", response_model=GroupModel, responses=AUTH_RESPONSES)
async def get_position(group_id: str, runtime: Runtime = Depends(fresh_runtime)) -> GroupModel:
    view = runtime.engine.group(group_id)
    if view is None:
        raise ApiError(404, "group_id", f"no group {group_id!r}", "unknown_group")
    return group_model(view)


@router.post("/positions/{group_id}/close", response_model=CloseResponse, responses=AUTH_RESPONSES)
async def close_position(group_id: str, runtime: Runtime = Depends(fresh_runtime)) -> CloseResponse:
    view = runtime.engine.group(group_id)
    if view is None:
        raise ApiError(404, "group_id", f"no group {group_id!r}", "unknown_group")
    if view.status not in OPEN_STATUSES:
        raise ApiError(422, "group_id", f"group {group_id} is {view.status}", "not_open")
    await runtime.submit(ClosePositionRequested(group_id, runtime.now_ms()))
    after = runtime.engine.group(group_id)
    return CloseResponse(group_id=group_id, status=after.status if after else view.status)


@router.get("/pool", response_model=PoolModel, responses=AUTH_RESPONSES)
async def pool(user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)) -> PoolModel:
    chosen = one_user(runtime, user_id)
    metrics = runtime.engine.metrics(chosen)
    groups = [
        view.group_id for view in runtime.engine.groups(chosen) if view.status in OPEN_STATUSES
    ]
    return PoolModel(
        user_id=chosen,
        used=len(groups),
        max=metrics.slots_total if metrics is not None else 0,
        groups=groups,
    )
