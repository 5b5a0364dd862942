"""The queue: list with rank and reason; promote, force-add, remove (SPEC §7)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from engine.api.deps import AUTH_RESPONSES, ApiError, fresh_runtime, require_token, user_ids
from engine.api.present import queue_model
from engine.api.schemas import QueueActionResponse, QueueEntryModel
from engine.domain.events import (
    QueueForceAddRequested,
    QueuePromoteRequested,
    QueueRemoveRequested,
)
from engine.service.runtime import Runtime
from engine.views import QueueEntryView

__all__ = ["router"]

router = APIRouter(tags=["queue"], dependencies=[Depends(require_token)])


@router.get("/queue", response_model=list[QueueEntryModel], responses=AUTH_RESPONSES)
async def list_queue(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> list[QueueEntryModel]:
    return [
        queue_model(view)
        for chosen in user_ids(runtime, user_id)
        for view in runtime.engine.queue(chosen)
    ]


def _entry(runtime: Runtime, queue_id: str) -> QueueEntryView:
    for chosen in runtime.engine.users():
        for view in runtime.engine.queue(chosen):
            if view.queue_id == queue_id:
                return view
    raise ApiError(404, "queue_id", f"no waiting queue entry {queue_id!r}", "unknown_queue_entry")


async def _act(
    runtime: Runtime,
    queue_id: str,
    action: str,
    event: QueuePromoteRequested | QueueForceAddRequested | QueueRemoveRequested,
) -> QueueActionResponse:
    entry = _entry(runtime, queue_id)
    decision = await runtime.submit(event)
    for outcome in decision.outcomes:
        if outcome.signal_id == entry.signal_id:
            return QueueActionResponse(
                queue_id=queue_id,
                action=action,
                outcome=outcome.outcome,
                reason=outcome.reason,
                group_id=outcome.group_id,
            )
    still = any(view.queue_id == queue_id for view in runtime.engine.queue(entry.user_id))
    reason = None
    for audit in decision.audit:
        value = audit.data.get("reason")
        if isinstance(value, str):
            reason = value
            break
    return QueueActionResponse(
        queue_id=queue_id,
        action=action,
        outcome="waiting" if still else "removed",
        reason=reason,
        group_id=None,
    )


@router.post(
    "/queue/{queue_id}/promote", response_model=QueueActionResponse, responses=AUTH_RESPONSES
)
async def promote(queue_id: str, runtime: Runtime = Depends(fresh_runtime)) -> QueueActionResponse:
    """Execute the queued signal now if a pool slot is free."""
    event = QueuePromoteRequested(queue_id, runtime.now_ms())
    return await _act(runtime, queue_id, "promote", event)


@router.post(
    "/queue/{queue_id}/force-add", response_model=QueueActionResponse, responses=AUTH_RESPONSES
)
async def force_add(
    queue_id: str, runtime: Runtime = Depends(fresh_runtime)
) -> QueueActionResponse:
    """Execute the queued signal now, ignoring the pool limit."""
    event = QueueForceAddRequested(queue_id, runtime.now_ms())
    return await _act(runtime, queue_id, "force_add", event)


@router.delete("/queue/{queue_id}", response_model=QueueActionResponse, responses=AUTH_RESPONSES)
async def remove(queue_id: str, runtime: Runtime = Depends(fresh_runtime)) -> QueueActionResponse:
    """Remove the queued signal."""
    event = QueueRemoveRequested(queue_id, runtime.now_ms())
    return await _act(runtime, queue_id, "remove", event)
