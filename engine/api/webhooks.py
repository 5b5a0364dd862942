"""``POST /webhooks/{user_id}`` and ``POST /api/v1/webhooks/{user_id}/tradingview`` (SPEC §2).

The body is read with the size limit applied while streaming (and from Content-Length first),
so an oversized body is refused before it is parsed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from engine.api.deps import intake_of
from engine.api.schemas import ErrorResponse, WebhookResponse
from engine.service.intake import IntakeResponse

__all__ = ["router", "read_limited"]

router = APIRouter(tags=["webhooks"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": WebhookResponse, "description": "Stored with its outcome"},
    401: {"model": WebhookResponse, "description": "Unknown user or wrong secret (same body)"},
    413: {"model": ErrorResponse, "description": "Body over 64 KiB"},
    422: {"model": ErrorResponse, "description": "Malformed JSON, schema errors, placeholders"},
}


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request body, or ``None`` as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            return None
    return bytes(body)


def _respond(result: IntakeResponse) -> JSONResponse:
    return JSONResponse(result.body, status_code=result.status_code)


async def _receive(request: Request, user_id: str, signature: str | None) -> JSONResponse:
    intake = intake_of(request)
    body = await read_limited(request, intake.max_body_bytes)
    if body is None:
        declared = request.headers.get("content-length", "")
        size = int(declared) if declared.strip().isdigit() else None
        return _respond(intake.too_large(user_id, size))
    return _respond(await intake.receive(user_id, body, signature=signature))


@router.post(
    "/webhooks/{user_id}",
    status_code=202,
    response_model=WebhookResponse,
    responses=_RESPONSES,
    summary="Receive a TradingView webhook",
)
async def receive_webhook(
    request: Request,
    user_id: str,
    x_signature: str | None = Header(default=None, description="sha256=<hex HMAC of the body>"),
) -> JSONResponse:
    return await _receive(request, user_id, x_signature)


@router.post(
    "/api/v1/webhooks/{user_id}/tradingview",
    status_code=202,
    response_model=WebhookResponse,
    responses=_RESPONSES,
    summary="Receive a TradingView webhook (the original engine's path)",
)
async def receive_webhook_v1(
    request: Request,
    user_id: str,
    x_signature: str | None = Header(default=None, description="sha256=<hex HMAC of the body>"),
) -> JSONResponse:
    return await _receive(request, user_id, x_signature)
