"""The e2e flow's routes (seed 001): ``/signals/predict``, ``/trades/place``,
``/trades/order/{id}``, ``/trades/positions``. A placed trade is a signal through the same
intake as a webhook (bearer-authenticated instead of the webhook secret)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from engine.api.convert import dec, iso, num
from engine.api.deps import (
    AUTH_RESPONSES,
    ApiError,
    fresh_runtime,
    intake_of,
    one_user,
    require_token,
    user_ids,
)
from engine.api.positions import OPEN_STATUSES
from engine.api.schemas import (
    PredictRequest,
    PredictResponse,
    TradeOrderModel,
    TradePlaceRequest,
    TradePlaceResponse,
    TradePositionModel,
)
from engine.domain import normalise_symbol
from engine.service.predict import MODEL_NAME
from engine.service.runtime import Runtime
from engine.views import OrderView

__all__ = ["router"]

router = APIRouter(tags=["e2e"], dependencies=[Depends(require_token)])
_SIDES = {"buy": "long", "long": "long", "sell": "short", "short": "short"}


@router.post("/signals/predict", response_model=PredictResponse, responses=AUTH_RESPONSES)
async def predict(
    body: PredictRequest, runtime: Runtime = Depends(fresh_runtime)
) -> PredictResponse:
    """A momentum baseline over the prices the service has observed (not a trained model)."""
    exchange = body.exchange.lower()
    symbol = normalise_symbol(body.symbol)
    if exchange not in runtime.exchanges:
        raise ApiError(
            404, "exchange", f"exchange {exchange!r} is not configured", "unknown_exchange"
        )
    price, result = await runtime.executor.price(exchange, symbol)
    if price is None:
        detail = result.error or f"no price for {symbol}"
        raise ApiError(422, "symbol", detail, "no_price")
    runtime.predictor.observe(exchange, symbol, price)
    prediction = runtime.predictor.predict(exchange, symbol)
    return PredictResponse(
        symbol=symbol,
        exchange=exchange,
        action=prediction.action,
        confidence=num(prediction.confidence),
        predicted_return=num(prediction.predicted_return),
        price=dec(prediction.price),
        observations=prediction.observations,
        model=MODEL_NAME,
    )


def _payload(body: TradePlaceRequest) -> dict[str, Any]:
    side = _SIDES.get(body.side.lower())
    if side is None:
        raise ApiError(422, "side", "must be buy, sell, long or short", "unknown_value")
    tv: dict[str, Any] = {
        "exchange": body.exchange,
        "symbol": body.symbol,
        "timeframe": body.timeframe,
        "action": "buy" if side == "long" else "sell",
    }
    if body.entry_price is not None:
        tv["entry_price"] = body.entry_price
    if body.order_size is not None:
        tv["order_size"] = body.order_size
    payload: dict[str, Any] = {
        "source": "api",
        "tv": tv,
        "execution_intent": {
            "type": "signal",
            "side": side,
            "position_size_type": body.position_size_type,
        },
    }
    risk = {
        key: value
        for key, value in (("take_profit", body.take_profit), ("stop_loss", body.stop_loss))
        if value is not None
    }
    if risk:
        payload["risk"] = risk
    return payload


@router.post("/trades/place", response_model=TradePlaceResponse, responses=AUTH_RESPONSES)
async def place_trade(
    body: TradePlaceRequest, request: Request, runtime: Runtime = Depends(fresh_runtime)
) -> Any:
    """Open (or add to) a position: the trade goes through the signal intake."""
    user_id = one_user(runtime, body.user_id)
    user = runtime.store.get_user(user_id)
    if user is None:
        raise ApiError(404, "user_id", f"no user {user_id!r}", "unknown_user")
    result = await intake_of(request).accept(user, _payload(body))
    if result.status_code != 202:
        return JSONResponse(result.body, status_code=result.status_code)
    group_id = result.body.get("group_id")
    order_id = None
    status = None
    group = runtime.engine.group(group_id) if isinstance(group_id, str) else None
    if group is not None:
        status = group.status
        if group.pyramids and group.pyramids[-1].legs:
            order_id = group.pyramids[-1].legs[0].entry_order_id
    return TradePlaceResponse(
        signal_id=result.body.get("signal_id"),
        outcome=str(result.body.get("outcome")),
        reason=result.body.get("reason"),
        trade_id=group_id if isinstance(group_id, str) else None,
        order_id=order_id,
        status=status,
    )


def _order(runtime: Runtime, order_id: str) -> OrderView:
    view = runtime.engine.order(order_id)
    if view is not None:
        return view
    for candidate in runtime.engine.orders():
        if candidate.exchange_order_id == order_id:
            return candidate
    raise ApiError(404, "order_id", f"no order {order_id!r}", "unknown_order")


@router.get("/trades/order/{order_id}", response_model=TradeOrderModel, responses=AUTH_RESPONSES)
async def get_order(order_id: str, runtime: Runtime = Depends(fresh_runtime)) -> TradeOrderModel:
    """One order by client order id (or the exchange's order id)."""
    view = _order(runtime, order_id)
    return TradeOrderModel(
        order_id=view.exchange_order_id or view.client_order_id,
        client_order_id=view.client_order_id,
        exchange_order_id=view.exchange_order_id or None,
        symbol=view.symbol,
        side=view.side,
        type=view.type,
        purpose=view.purpose,
        status=view.status,
        price=dec(view.price),
        quantity=num(view.quantity),
        filled_quantity=num(view.filled_quantity),
        average_price=dec(view.average_price),
        group_id=view.group_id,
        created_at=iso(view.created_at_ms),
        updated_at=iso(view.updated_at_ms),
    )


@router.get("/trades/positions", response_model=list[TradePositionModel], responses=AUTH_RESPONSES)
async def trade_positions(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> list[TradePositionModel]:
    """Open positions in the e2e flow's shape."""
    rows: list[TradePositionModel] = []
    for chosen in user_ids(runtime, user_id):
        for view in runtime.engine.groups(chosen):
            if view.status not in OPEN_STATUSES:
                continue
            targets = sorted(
                {
                    num(leg.tp_price)
                    for pyramid in view.pyramids
                    for leg in pyramid.legs
                    if leg.tp_price is not None and leg.open_quantity > 0
                }
            )
            rows.append(
                TradePositionModel(
                    trade_id=view.group_id,
                    user_id=view.user_id,
                    exchange=view.exchange,
                    symbol=view.symbol,
                    side=view.side,
                    status=view.status,
                    quantity=num(view.open_quantity),
                    average_entry=dec(view.average_entry),
                    mark_price=dec(view.mark),
                    unrealised_pnl=num(view.unrealised_usd),
                    unrealised_percent=dec(view.unrealised_percent),
                    realised_pnl=num(view.realised_usd),
                    take_profit_prices=targets,
                    stop_price=dec(view.stop_price),
                )
            )
    return rows
