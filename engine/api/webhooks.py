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

__all__ = ["router", "read_limited", "TRADINGVIEW_PAYLOAD"]

router = APIRouter(tags=["webhooks"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": WebhookResponse, "description": "Stored with its outcome"},
    401: {"model": WebhookResponse, "description": "Unknown user or wrong secret (same body)"},
    413: {"model": ErrorResponse, "description": "Body over 64 KiB"},
    422: {"model": ErrorResponse, "description": "Malformed JSON, schema errors, placeholders"},
}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_TEXT = {"type": "string"}
_NUMBER = {"anyOf": [{"type": "number"}, {"type": "string"}]}
TRADINGVIEW_PAYLOAD: dict[str, Any] = _object(
    {
        "secret": {"type": "string", "description": "the user's webhook secret"},
        "source": _TEXT,
        "timestamp": _TEXT,
        "tv": _object(
            {
                "exchange": _TEXT,
                "symbol": _TEXT,
                "timeframe": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "action": {"type": "string", "enum": ["buy", "sell", "long", "short"]},
                "market_position": _TEXT,
                "market_position_size": _NUMBER,
                "prev_market_position": _TEXT,
                "prev_market_position_size": _NUMBER,
                "entry_price": _NUMBER,
                "close_price": _NUMBER,
                "order_size": _NUMBER,
            },
            ["exchange", "symbol", "timeframe", "action"],
        ),
        "strategy_info": _object(
            {
                "trade_id": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "alert_name": _TEXT,
                "alert_message": _TEXT,
            }
        ),
        "execution_intent": _object(
            {
                "type": {"type": "string", "enum": ["signal", "exit", "reduce", "reverse"]},
                "side": {"type": "string", "enum": ["long", "short", "buy", "sell"]},
                "position_size_type": {"type": "string", "enum": ["contracts", "base", "quote"]},
                "precision_mode": _TEXT,
            },
            ["type"],
        ),
        "risk": _object(
            {"stop_loss": _NUMBER, "take_profit": _NUMBER, "max_slippage_percent": _NUMBER}
        ),
    },
    ["tv", "execution_intent"],
)
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "TradingView alert payload (SPEC §2), at most 64 KiB; extra keys ignored",
        "content": {"application/json": {"schema": TRADINGVIEW_PAYLOAD}},
    }
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
    openapi_extra=_BODY,
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
    openapi_extra=_BODY,
    summary="Receive a TradingView webhook (the original engine's path)",
)
async def receive_webhook_v1(
    request: Request,
    user_id: str,
    x_signature: str | None = Header(default=None, description="sha256=<hex HMAC of the body>"),
) -> JSONResponse:
    return await _receive(request, user_id, x_signature)
