"""Builders for the e2e flow's tests: a scripted service API (routes answered by handlers,
no network), the service's answers in the contract's shapes, flow contexts and trades."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from qtrade.e2e.api import Calls
from qtrade.e2e.predictor import PathPredictor, Prediction, PredictionSource
from qtrade.e2e.prices import LegSize, MarketInfo
from qtrade.e2e.settings import FlowSettings
from qtrade.e2e.state import FlowContext, PhaseLog, TradeState

__all__ = [
    "USER_ID",
    "FaultyApi",
    "ScriptedApi",
    "Handler",
    "answer",
    "health_answer",
    "config_answer",
    "metrics_answer",
    "precision_answer",
    "prices_answer",
    "make_settings",
    "make_context",
    "make_trade",
    "prediction_of",
    "SEED_LEVELS",
    "market",
    "phase_log",
]

USER_ID = "user-1"
# the seed user's grid (scenarios/users/maaz.json), as GET /config/{user_id} shows it
SEED_LEVELS = [
    {"gap_percent": "0", "weight_percent": "20", "tp_percent": "1"},
    {"gap_percent": "-0.5", "weight_percent": "30", "tp_percent": "1"},
    {"gap_percent": "-1", "weight_percent": "50", "tp_percent": "2"},
]

Handler = Callable[[Any, Any], tuple[int, Any]]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def answer(body: Any, status: int = 200) -> Handler:
    """A handler that always answers ``body`` with ``status``."""
    return lambda _params, _json: (status, body)


class ScriptedApi:
    """A :class:`~qtrade.e2e.api.ServiceApi` whose routes are handlers keyed by
    ``"METHOD /path"``; a key ending in ``*`` matches any path with that prefix. Unscripted
    routes answer 404. Every call is kept in ``calls``; ``after_admin`` calls are counted."""

    def __init__(self, routes: Mapping[str, Handler | Exception] | None = None) -> None:
        self.routes: dict[str, Handler | Exception] = dict(routes or {})
        self.calls: list[tuple[str, str, Any, Any]] = []
        self.after_admin_calls = 0

    def _find(self, method: str, path: str) -> Handler | Exception | None:
        key = f"{method} {path}"
        if key in self.routes:
            return self.routes[key]
        prefixes = [k for k in self.routes if k.endswith("*") and key.startswith(k[:-1])]
        return self.routes[max(prefixes, key=len)] if prefixes else None

    def _answer(self, method: str, path: str, params: Any, body: Any) -> httpx.Response:
        self.calls.append((method, path, params, body))
        handler = self._find(method, path)
        if handler is None:
            return httpx.Response(404, json={"detail": f"no route {method} {path}"})
        if isinstance(handler, Exception):
            raise handler
        status, content = handler(params, body)
        if isinstance(content, (bytes, str)):
            return httpx.Response(status, content=content)
        return httpx.Response(status, content=json.dumps(_jsonable(content)).encode())

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self._answer(method, path, params, json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        return self._answer(method, path, params, json)

    def after_admin(self) -> None:
        self.after_admin_calls += 1

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _, _ in self.calls if method is None or m == method]


def health_answer(status: str = "ok", binance: str = "ok", database: str = "ok") -> Handler:
    return answer(
        {"status": status, "exchanges": {"binance": binance, "bybit": "ok"}, "database": database}
    )


def config_answer(exchanges: list[str] | None = None) -> Handler:
    config = {
        "configured_exchanges": ["bybit", "binance"] if exchanges is None else exchanges,
        "dca_grid_config": {"levels": SEED_LEVELS},
    }
    return answer({"user_id": USER_ID, "username": "maaz", "config": config})


def metrics_answer(
    exposure: str = "0",
    pool_used: int = 0,
    realised: str = "0",
    closed: int = 0,
    open_groups: int | None = None,
) -> Handler:
    return answer(
        {
            "user_id": USER_ID,
            "realised_pnl": realised,
            "unrealised_pnl": "0",
            "win_rate": None,
            "closed_groups": closed,
            "open_groups": pool_used if open_groups is None else open_groups,
            "pool_used": pool_used,
            "pool_max": 3,
            "queue_length": 0,
            "exposure_usd": exposure,
            "max_total_exposure_usd": "1000",
            "daily_realised_pnl": realised,
            "max_daily_loss_usd": "500",
        }
    )


def precision_answer(rules: Mapping[str, tuple[str, str, str, str]]) -> Handler:
    """``rules``: symbol -> (tick, step, min qty, min notional); other symbols unknown."""

    def handler(params: Any, _body: Any) -> tuple[int, Any]:
        symbol = params["symbol"]
        row: dict[str, Any] = {
            "exchange": params["exchange"],
            "loaded": True,
            "symbols": len(rules),
            "error": None,
            "symbol": symbol,
            "known": symbol in rules,
            "complete": symbol in rules,
        }
        if symbol in rules:
            tick, step, min_qty, min_notional = rules[symbol]
            row |= {
                "tick_size": tick,
                "step_size": step,
                "min_qty": min_qty,
                "min_notional": min_notional,
            }
        return 200, {"exchanges": [row]}

    return handler


def prices_answer(prices: Mapping[str, str], exchange: str = "binance") -> Handler:
    return answer({exchange: dict(prices)})


def make_settings(**changes: Any) -> FlowSettings:
    return FlowSettings(user_id=USER_ID, **changes)


def make_context(
    api: Any, settings: FlowSettings | None = None, predictor: PredictionSource | None = None
) -> FlowContext:
    return FlowContext(settings or make_settings(), Calls(api), predictor, PathPredictor())


def prediction_of(symbol: str, action: str = "buy", price: str | None = "100") -> Prediction:
    return Prediction(
        symbol=symbol,
        exchange="binance",
        action=action,
        confidence=Decimal("0.6"),
        predicted_return=Decimal("0.001"),
        price=None if price is None else Decimal(price),
        source="service",
    )


def make_trade(
    symbol: str = "BTCUSDT",
    *,
    status: str = "placed",
    price: str = "96472.26",
    leg0: str = "0.00020",
    **fields: Any,
) -> TradeState:
    trade = TradeState(symbol, "long", prediction_of(symbol, price=price), Decimal(price))
    trade.status = status
    trade.legs = [LegSize(0, Decimal(price), Decimal(leg0), Decimal(price) * Decimal(leg0))]
    trade.trade_id = fields.pop("trade_id", "g1")
    trade.order_id = fields.pop("order_id", "e2e-g1-p0-l0-entry-0")
    for name, value in fields.items():
        setattr(trade, name, value)
    return trade


def market(symbol: str, tick: str, step: str, min_qty: str, min_notional: str = "5") -> MarketInfo:
    return MarketInfo(symbol, Decimal(tick), Decimal(step), Decimal(min_qty), Decimal(min_notional))


def phase_log(name: str) -> PhaseLog:
    return PhaseLog(name)


class FaultyApi:
    """Wraps a real :class:`~qtrade.e2e.api.ServiceApi` and fakes failures: ``faults`` maps
    ``"METHOD /path-prefix"`` to a function of the route's call number (1, 2, ...) that
    returns an HTTP status to answer instead, or ``None`` to let the call through."""

    def __init__(self, inner: Any, faults: Mapping[str, Callable[[int], int | None]]) -> None:
        self.inner = inner
        self.faults = dict(faults)
        self.counts: dict[str, int] = {}

    def _faked(self, method: str, path: str) -> httpx.Response | None:
        for key, rule in self.faults.items():
            if f"{method} {path}".startswith(key):
                self.counts[key] = self.counts.get(key, 0) + 1
                status = rule(self.counts[key])
                if status is not None:
                    return httpx.Response(status, json={"detail": "injected fault"})
        return None

    def request(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        faked = self._faked(method, path)
        return faked or self.inner.request(method, path, params=params, json=json)

    def admin(
        self, method: str, path: str, *, params: Any = None, json: Any = None
    ) -> httpx.Response:
        faked = self._faked(method, path)
        return faked or self.inner.admin(method, path, params=params, json=json)

    def after_admin(self) -> None:
        self.inner.after_admin()
