"""A small hand-written stand-in for a ``ccxt.async_support`` client (binance or bybit flavour),
with scripted faults, plus a fake clock whose ``sleep`` advances it.

It keeps orders by exchange id with their client ids, fills market orders at the ticker price,
answers create/cancel in the venue's shape (binance: the full order; bybit: ids only), and raises
the real ccxt exception classes with the messages ccxt builds (``<venue> <json body>``).
Faults: :meth:`FakeCcxtClient.fail` queues exceptions for a method; a :class:`Lost` fault
performs the call and THEN raises (the order exists, the reply was lost).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt

__all__ = ["FakeClock", "Lost", "FakeCcxtClient", "binance_error", "bybit_error", "market"]


class FakeClock:
    """Engine clock for tests; ``sleep`` records the wait and moves time forward."""

    def __init__(self, now_ms: int = 1_770_000_000_000) -> None:
        self.now = now_ms
        self.sleeps: list[float] = []

    def now_ms(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1000)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


@dataclass
class Lost:
    """Fault: do the call, then raise ``error`` (the reply never arrived)."""

    error: BaseException


def binance_error(cls: type[ccxt.BaseError], code: int, msg: str) -> ccxt.BaseError:
    return cls("binance " + json.dumps({"code": code, "msg": msg}))


def bybit_error(cls: type[ccxt.BaseError], code: int, msg: str) -> ccxt.BaseError:
    body = {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 1}
    return cls("bybit " + json.dumps(body))


def market(
    symbol: str = "BTC/USDT",
    market_id: str = "BTCUSDT",
    *,
    tick: float | None = 0.01,
    step: float | None = 1e-05,
    min_qty: float | None = 1e-05,
    min_cost: float | None = 5.0,
    maker: float | None = 0.001,
    taker: float | None = 0.001,
    type: str = "spot",
    active: bool = True,
) -> dict[str, Any]:
    """A ccxt unified market, floats as ccxt gives them."""
    base, quote = symbol.split(":")[0].split("/")
    return {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "type": type,
        "spot": type == "spot",
        "linear": type == "swap",
        "active": active,
        "maker": maker,
        "taker": taker,
        "precision": {"amount": step, "price": tick},
        "limits": {"amount": {"min": min_qty, "max": None}, "cost": {"min": min_cost}},
    }


@dataclass
class _Order:
    id: str
    client_id: str
    symbol: str
    type: str
    side: str
    amount: Decimal
    price: Decimal | None
    status: str = "open"
    filled: Decimal = Decimal(0)
    trades: list[dict[str, Any]] = field(default_factory=list)
    timestamp: int = 0


class FakeCcxtClient:
    """Enough of a ccxt async client for the adapter, for ``venue`` binance or bybit."""

    precisionMode = 4  # TICK_SIZE

    def __init__(self, venue: str = "binance", *, markets: list[dict[str, Any]] | None = None):
        self.venue = venue
        self.markets_list = markets if markets is not None else [market()]
        self.prices: dict[str, float] = {"BTC/USDT": 95992.3}
        self.orders: dict[str, _Order] = {}
        self.calls: list[str] = []
        self.sent: list[tuple[Any, ...]] = []  # create_order arguments, as passed
        self.faults: dict[str, list[BaseException | Lost]] = {}
        self.last_response_headers: dict[str, str] = {}
        self.apiKey = "key"
        self.secret = "secret"
        self.closed = False
        self._next_id = 1000
        self._next_trade = 1
        self.fee_rate = Decimal("0.001")

    # -- test controls ---------------------------------------------------------------------
    def fail(self, method: str, *faults: BaseException | Lost) -> None:
        self.faults.setdefault(method, []).extend(faults)

    def count(self, method: str) -> int:
        return self.calls.count(method)

    def fill(self, client_id: str, quantity: str, price: str) -> None:
        order = self._by_client(client_id)
        assert order is not None
        self._trade(order, Decimal(quantity), Decimal(price))

    def _enter(self, method: str) -> Lost | None:
        self.calls.append(method)
        queue = self.faults.get(method)
        if queue:
            fault = queue.pop(0)
            if isinstance(fault, Lost):
                return fault
            raise fault
        return None

    # -- helpers ---------------------------------------------------------------------------
    def _by_client(self, client_id: str) -> _Order | None:
        return next((o for o in self.orders.values() if o.client_id == client_id), None)

    def _trade(self, order: _Order, quantity: Decimal, price: Decimal) -> None:
        fee_asset = order.symbol.split("/")[0] if order.side == "buy" else "USDT"
        fee = quantity * self.fee_rate if order.side == "buy" else quantity * price * self.fee_rate
        order.trades.append(
            {
                "id": f"T{self._next_trade}",
                "order": order.id,
                "symbol": order.symbol,
                "amount": float(quantity),
                "price": float(price),
                "fee": {"cost": float(fee), "currency": fee_asset},
                "timestamp": 1_770_000_000_500 + self._next_trade,
            }
        )
        self._next_trade += 1
        order.filled += quantity
        if order.filled >= order.amount:
            order.status = "closed"

    def _view(self, order: _Order, *, trades: bool) -> dict[str, Any]:
        cost = sum(Decimal(repr(t["amount"])) * Decimal(repr(t["price"])) for t in order.trades)
        return {
            "id": order.id,
            "clientOrderId": order.client_id,
            "symbol": order.symbol,
            "type": order.type,
            "side": order.side,
            "amount": float(order.amount),
            "price": float(order.price) if order.price is not None else None,
            "status": order.status,
            "filled": float(order.filled),
            "cost": float(cost),
            "average": None,
            "timestamp": order.timestamp,
            "trades": [dict(t) for t in order.trades] if trades else [],
        }

    def _not_found(self) -> ccxt.BaseError:
        if self.venue == "binance":
            return binance_error(ccxt.OrderNotFound, -2013, "Order does not exist.")
        return bybit_error(ccxt.OrderNotFound, 110001, "order not exists or too late to cancel")

    # -- the ccxt surface --------------------------------------------------------------------
    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        lost = self._enter("load_markets")
        markets = {m["symbol"]: m for m in self.markets_list}
        if lost:
            raise lost.error
        return markets

    async def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        self._enter("fetch_ticker")
        return {"symbol": symbol, "last": self.prices[symbol], "close": self.prices[symbol]}

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: str,
        price: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        lost = self._enter("create_order")
        self.sent.append((symbol, type, side, amount, price, dict(params or {})))
        params = dict(params or {})
        client_id = str(params.get("newClientOrderId") or params.get("clientOrderId") or "")
        if client_id and self._by_client(client_id) is not None:
            if self.venue == "binance":
                raise binance_error(ccxt.InvalidOrder, -2010, "Duplicate order sent.")
            raise bybit_error(ccxt.InvalidOrder, 170141, "Duplicate clientOrderId")
        self._next_id += 1
        order = _Order(
            id=str(self._next_id),
            client_id=client_id,
            symbol=symbol,
            type=type,
            side=side,
            amount=Decimal(amount),
            price=Decimal(price) if price is not None else None,
            timestamp=1_770_000_000_000 + self._next_id,
        )
        self.orders[order.id] = order
        if type == "market":
            self._trade(order, order.amount, Decimal(repr(self.prices[symbol])))
        if lost:
            raise lost.error
        if self.venue == "bybit":
            return {"id": order.id, "clientOrderId": client_id, "info": {}, "trades": []}
        return self._view(order, trades=True)

    async def fetch_order(
        self, id: str | None, symbol: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        self._enter("fetch_order")
        client_id = (params or {}).get("origClientOrderId")
        order = self._by_client(client_id) if client_id else self.orders.get(str(id))
        if order is None:
            raise self._not_found()
        return self._view(order, trades=False)

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        self._enter("fetch_open_orders")
        link = (params or {}).get("orderLinkId")
        return [
            self._view(o, trades=False)
            for o in self.orders.values()
            if o.status == "open"
            and (symbol is None or o.symbol == symbol)
            and (link is None or o.client_id == link)
        ]

    async def fetch_canceled_and_closed_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        self._enter("fetch_canceled_and_closed_orders")
        link = (params or {}).get("orderLinkId")
        return [
            self._view(o, trades=False)
            for o in self.orders.values()
            if o.status != "open" and (link is None or o.client_id == link)
        ]

    async def cancel_order(
        self, id: str | None, symbol: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        lost = self._enter("cancel_order")
        params = params or {}
        client_id = params.get("origClientOrderId") or params.get("orderLinkId")
        order = self._by_client(str(client_id)) if client_id else self.orders.get(str(id))
        if order is None or order.status != "open":
            if self.venue == "binance":
                raise binance_error(ccxt.OrderNotFound, -2011, "Unknown order sent.")
            raise bybit_error(ccxt.OrderNotFound, 170213, "Order does not exist.")
        order.status = "canceled"
        if lost:
            raise lost.error
        if self.venue == "bybit":
            return {"id": order.id, "clientOrderId": order.client_id, "info": {}}
        return self._view(order, trades=False)

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        self._enter("fetch_my_trades")
        wanted = (params or {}).get("orderId")
        return [
            dict(t)
            for o in self.orders.values()
            for t in o.trades
            if wanted is None or t["order"] == wanted
        ]

    async def close(self) -> None:
        self.closed = True
