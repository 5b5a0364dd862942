"""Metrics, precision refresh and the public health check."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Request

from engine.api.convert import dec, iso, num
from engine.api.deps import (
    AUTH_RESPONSES,
    ApiError,
    fresh_runtime,
    one_user,
    require_token,
    runtime_of,
    settings_of,
)
from engine.api.schemas import (
    HealthModel,
    MetricsModel,
    PrecisionExchangeModel,
    PrecisionRefreshResponse,
)
from engine.domain import normalise_symbol
from engine.service.runtime import Runtime

__all__ = ["router", "public_router", "win_rate"]

router = APIRouter(tags=["metrics"], dependencies=[Depends(require_token)])
public_router = APIRouter(tags=["health"])


def win_rate(realised: list[Decimal]) -> Decimal | None:
    """Share of closed groups whose realised PnL is positive (``None`` with none closed)."""
    if not realised:
        return None
    return Decimal(sum(1 for value in realised if value > 0)) / Decimal(len(realised))


@router.get("/metrics", response_model=MetricsModel, responses=AUTH_RESPONSES)
async def metrics(
    user_id: str | None = None, runtime: Runtime = Depends(fresh_runtime)
) -> MetricsModel:
    chosen = one_user(runtime, user_id)
    view = runtime.engine.metrics(chosen)
    if view is None:
        raise ApiError(404, "user_id", f"no user {chosen!r}", "unknown_user")
    closed = [g.realised_usd for g in runtime.engine.groups(chosen) if g.status == "closed"]
    return MetricsModel(
        user_id=chosen,
        realised_pnl=num(view.realised_total_usd),
        unrealised_pnl=num(view.unrealised_total_usd),
        win_rate=dec(win_rate(closed)),
        closed_groups=view.closed_groups,
        open_groups=view.open_groups,
        pool_used=view.slots_used,
        pool_max=view.slots_total,
        queue_length=view.queue_length,
        exposure_usd=num(view.committed_capital_usd),
        max_total_exposure_usd=num(view.max_total_exposure_usd),
        daily_realised_pnl=num(view.realised_today_usd),
        max_daily_loss_usd=num(view.max_daily_loss_usd),
    )


@router.post(
    "/precision/refresh", response_model=PrecisionRefreshResponse, responses=AUTH_RESPONSES
)
async def precision_refresh(
    exchange: str | None = None,
    symbol: str | None = None,
    runtime: Runtime = Depends(fresh_runtime),
) -> PrecisionRefreshResponse:
    """Reload market metadata now (all exchanges, or one); with ``symbol``, report its rules."""
    name = exchange.lower() if exchange else None
    if name is not None and name not in runtime.exchanges:
        raise ApiError(404, "exchange", f"exchange {name!r} is not configured", "unknown_exchange")
    wanted = normalise_symbol(symbol) if symbol else None
    rows: list[PrecisionExchangeModel] = []
    for exchange_name, rules, error in await runtime.reload_markets(name):
        row = PrecisionExchangeModel(
            exchange=exchange_name,
            loaded=rules is not None,
            symbols=0 if rules is None else len(rules),
            error=error,
        )
        if wanted is not None:
            found = None if rules is None else next((r for r in rules if r.symbol == wanted), None)
            row = row.model_copy(
                update={
                    "symbol": wanted,
                    "known": None if rules is None else found is not None,
                    "complete": None if found is None else found.is_complete,
                    "tick_size": None if found is None else dec(found.tick_size),
                    "step_size": None if found is None else dec(found.step_size),
                    "min_qty": None if found is None else dec(found.min_qty),
                    "min_notional": None if found is None else dec(found.min_notional),
                }
            )
        rows.append(row)
    return PrecisionRefreshResponse(exchanges=rows)


@public_router.get("/health", response_model=HealthModel)
async def health(request: Request) -> HealthModel:
    """Public: each exchange connection's state and the database; never any secret."""
    runtime = runtime_of(request)
    settings = settings_of(request)
    try:
        runtime.store.list_users()
        database = "ok"
    except Exception:
        database = "error"
    exchanges = runtime.health()
    healthy = database == "ok" and all(state == "ok" for state in exchanges.values())
    now = runtime.now_ms()
    return HealthModel(
        status="ok" if healthy else "degraded",
        mode=settings.mode,
        exchanges=exchanges,
        user_accounts=runtime.user_account_health(),
        database=database,
        engine_time=iso(now),
        engine_time_ms=now,
    )
