"""The Binance spot v3 face: ``/api/v3/...`` plus empty answers for the ``sapi``/``fapi``/
``dapi`` calls default-configured clients make while loading markets.

Signed endpoints are verified over the raw query and body (``simulator.rest.signing``);
errors come back as ``{"code": <int>, "msg": <str>}`` with Binance's HTTP status, so ccxt,
python-binance and hand-written clients see what they would see from Binance.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulator.errors import SimDown, SimError, SimRateLimited, SimTimeout
from simulator.models import SimOrder
from simulator.rest.binance_format import (
    ORDER_TYPES,
    binance_account,
    binance_book_levels,
    binance_kline,
    binance_number,
    binance_order,
    binance_symbol,
    binance_ticker_24h,
    binance_trade,
)
from simulator.rest.common import (
    RawRequest,
    RestContext,
    display_depth,
    drop_connection,
    json_response,
    lose_response,
    plain_response,
    read_raw,
    run_sim,
)
from simulator.rest.intervals import BINANCE_INTERVALS
from simulator.rest.params import (
    INVALID_VALUE,
    MALFORMED,
    MISSING,
    NOT_ALLOWED,
    ParamError,
    choice,
    decimal_value,
    int_value,
    optional_text,
    required_text,
)
from simulator.rest.signing import AuthFailure, verify_binance

__all__ = ["BinanceFace", "EXCHANGE"]

EXCHANGE = "binance"

Handler = Callable[[RawRequest, str], Any]

# Binance's own codes for an invalid value of these parameters (otherwise -1100).
_INVALID_VALUE_CODES: dict[str, tuple[int, str]] = {
    "side": (-1117, "Invalid side."),
    "type": (-1116, "Invalid orderType."),
    "timeInForce": (-1115, "Invalid timeInForce."),
    "interval": (-1120, "Invalid interval."),
    "newOrderRespType": (-1177, "Invalid newOrderRespType."),
}
_SIDES = {"BUY": "buy", "SELL": "sell"}
_RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_EMPTY_FUTURES_INFO: dict[str, Any] = {
    "timezone": "UTC",
    "rateLimits": [],
    "exchangeFilters": [],
    "assets": [],
    "symbols": [],
}


def _error_body(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message}


def param_error_body(error: ParamError) -> dict[str, Any]:
    """Binance's code and message for a bad parameter."""
    name = error.field
    if error.reason == MISSING:
        return _error_body(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    if error.reason == NOT_ALLOWED:
        return _error_body(-1106, f"Parameter '{name}' sent when not required.")
    if error.reason == INVALID_VALUE and name in _INVALID_VALUE_CODES:
        code, message = _INVALID_VALUE_CODES[name]
        return _error_body(code, message)
    if error.reason == MALFORMED:
        return _error_body(
            -1100,
            f"Illegal characters found in parameter '{name}'; "
            "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        )
    return _error_body(-1100, f"Illegal characters found in parameter '{name}'. {error.detail}")


def _symbols_param(raw: RawRequest) -> list[str] | None:
    """``symbol`` or a JSON list in ``symbols``; None for all."""
    symbol = optional_text(raw.params, "symbol")
    if symbol is not None:
        return [symbol.upper()]
    text = optional_text(raw.params, "symbols")
    if text is None:
        return None
    try:
        names = json.loads(text)
    except json.JSONDecodeError:
        raise ParamError("symbols", MALFORMED, "expected a JSON list") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ParamError("symbols", MALFORMED, "expected a JSON list of strings")
    return [n.upper() for n in names]


class BinanceFace:
    """Routes and handlers of the Binance face over one :class:`RestContext`."""

    def __init__(self, context: RestContext) -> None:
        self.context = context
        self.venue = context.sim.venue(EXCHANGE)

    # -- plumbing ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        public: list[tuple[str, str, Handler]] = [
            ("/api/v3/ping", "GET", self._ping),
            ("/api/v3/time", "GET", self._time),
            ("/api/v3/exchangeInfo", "GET", self._exchange_info),
            ("/api/v3/ticker/24hr", "GET", self._ticker_24h),
            ("/api/v3/ticker/price", "GET", self._ticker_price),
            ("/api/v3/ticker/bookTicker", "GET", self._book_ticker),
            ("/api/v3/klines", "GET", self._klines),
            ("/api/v3/uiKlines", "GET", self._klines),
            ("/api/v3/depth", "GET", self._depth),
            ("/fapi/v1/exchangeInfo", "GET", self._empty_futures_info),
            ("/dapi/v1/exchangeInfo", "GET", self._empty_futures_info),
        ]
        signed: list[tuple[str, str, Handler]] = [
            ("/api/v3/account", "GET", self._account),
            ("/api/v3/order", "POST", self._create_order),
            ("/api/v3/order", "GET", self._get_order),
            ("/api/v3/order", "DELETE", self._cancel_order),
            ("/api/v3/openOrders", "GET", self._open_orders),
            ("/api/v3/openOrders", "DELETE", self._cancel_open_orders),
            ("/api/v3/allOrders", "GET", self._all_orders),
            ("/api/v3/myTrades", "GET", self._my_trades),
            ("/sapi/v1/capital/config/getall", "GET", self._empty_list),
            ("/sapi/v1/margin/allPairs", "GET", self._empty_list),
            ("/sapi/v1/margin/isolated/allPairs", "GET", self._empty_list),
        ]
        by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
        for table, is_signed in ((public, False), (signed, True)):
            for path, method, handler in table:
                by_path.setdefault(path, {})[method] = self._endpoint(handler, is_signed)
        return [self._route(path, methods) for path, methods in by_path.items()]

    @staticmethod
    def _route(
        path: str, methods: dict[str, Callable[[Request], Awaitable[Response]]]
    ) -> BaseRoute:
        async def endpoint(request: Request) -> Response:
            return await methods[request.method](request)

        return Route(path, endpoint, methods=list(methods), name=f"binance {path}")

    def _endpoint(self, handler: Handler, signed: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._dispatch(request, handler, signed)

        return endpoint

    async def _dispatch(self, request: Request, handler: Handler, signed: bool) -> Response:
        context = self.context
        try:
            raw = await read_raw(request)
            api_key = ""
            if signed:
                api_key = verify_binance(
                    api_key=raw.headers.get("x-mbx-apikey"),
                    raw_query=raw.query,
                    raw_body=raw.body,
                    params=raw.params,
                    secret_of=context.secret_of(EXCHANGE),
                    now_ms=context.wall_clock.now_ms(),
                )
            body = await run_sim(context, lambda: handler(raw, api_key))
            return json_response(body)
        except AuthFailure as exc:
            return json_response(_error_body(exc.code, exc.message), exc.http_status)
        except ParamError as exc:
            return json_response(param_error_body(exc), 400)
        except SimDown as exc:
            if exc.mode == "refused":
                return await drop_connection(context, request)
            return plain_response("Service Unavailable", 503)
        except SimRateLimited as exc:
            headers = {"Retry-After": str(exc.retry_after_s)}
            return json_response(_error_body(int(exc.code), exc.message), exc.http_status, headers)
        except SimTimeout:
            return await lose_response(context, request)
        except SimError as exc:
            return json_response(_error_body(int(exc.code), exc.message), exc.http_status)
        except ValueError as exc:
            return json_response(_error_body(-1100, str(exc)), 400)

    # -- public -----------------------------------------------------------------------------

    def _ping(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        self.venue.server_time()  # passes the "time" endpoint's faults
        return {}

    def _time(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        # Clients sign with wall-clock time and sync to serverTime, so this is wall time.
        self.venue.server_time()
        return {"serverTime": self.context.wall_clock.now_ms()}

    def _exchange_info(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        wanted = _symbols_param(raw)
        markets = self.venue.list_markets()
        if wanted is not None:
            known = {m.symbol for m in markets}
            for name in wanted:
                if name not in known:
                    raise self.venue.spec.errors.error("invalid_symbol")
            markets = [m for m in markets if m.symbol in wanted]
        return {
            "timezone": "UTC",
            "serverTime": self.context.wall_clock.now_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [binance_symbol(m) for m in markets if m.market_type == "spot"],
        }

    def _tickers(self, raw: RawRequest) -> tuple[list[Any], bool]:
        wanted = _symbols_param(raw)
        single = optional_text(raw.params, "symbol") is not None
        names = wanted if wanted is not None else sorted(self._spot_symbols())
        return [self.venue.ticker(name) for name in names], single

    def _spot_symbols(self) -> list[str]:
        return [s for s, m in self.venue.markets.items() if m.market_type == "spot"]

    def _ticker_24h(self, raw: RawRequest, api_key: str) -> Any:
        tickers, single = self._tickers(raw)
        bodies = []
        for ticker in tickers:
            depth = display_depth(self.venue.markets[ticker.symbol], ticker.last)
            bodies.append(binance_ticker_24h(ticker, bid_qty=depth, ask_qty=depth))
        return bodies[0] if single else bodies

    def _ticker_price(self, raw: RawRequest, api_key: str) -> Any:
        tickers, single = self._tickers(raw)
        bodies = [{"symbol": t.symbol, "price": binance_number(t.last)} for t in tickers]
        return bodies[0] if single else bodies

    def _book_ticker(self, raw: RawRequest, api_key: str) -> Any:
        tickers, single = self._tickers(raw)
        bodies = []
        for ticker in tickers:
            depth = binance_number(display_depth(self.venue.markets[ticker.symbol], ticker.last))
            bodies.append(
                {
                    "symbol": ticker.symbol,
                    "bidPrice": binance_number(ticker.bid),
                    "bidQty": depth,
                    "askPrice": binance_number(ticker.ask),
                    "askQty": depth,
                }
            )
        return bodies[0] if single else bodies

    def _klines(self, raw: RawRequest, api_key: str) -> list[Any]:
        symbol = required_text(raw.params, "symbol").upper()
        interval = choice(raw.params, "interval", BINANCE_INTERVALS)
        limit = int_value(raw.params, "limit", default=500, minimum=1, maximum=1000)
        klines = self.venue.klines(
            symbol,
            BINANCE_INTERVALS[interval],
            start_ms=int_value(raw.params, "startTime", minimum=0),
            end_ms=int_value(raw.params, "endTime", minimum=0),
            limit=limit or 500,
        )
        return [binance_kline(k) for k in klines]

    def _depth(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        symbol = required_text(raw.params, "symbol").upper()
        limit = int_value(raw.params, "limit", default=100, minimum=1, maximum=5000) or 100
        bids, asks = self.venue.order_book(symbol, limit)
        return {
            "lastUpdateId": self.context.sim.clock_ms,
            "bids": binance_book_levels(bids),
            "asks": binance_book_levels(asks),
        }

    def _empty_futures_info(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        return {**_EMPTY_FUTURES_INFO, "serverTime": self.context.wall_clock.now_ms()}

    def _empty_list(self, raw: RawRequest, api_key: str) -> list[Any]:
        return []

    # -- account and orders -----------------------------------------------------------------

    def _account(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        balances = self.venue.balances(api_key)
        if optional_text(raw.params, "omitZeroBalances") == "true":
            balances = {a: b for a, b in balances.items() if b.total != 0}
        fees = [m for m in self.venue.markets.values()][:1]
        maker = fees[0].maker_fee if fees else Decimal("0.001")
        taker = fees[0].taker_fee if fees else Decimal("0.001")
        return binance_account(
            balances, update_ms=self.context.sim.clock_ms, maker_fee=maker, taker_fee=taker
        )

    def _create_order(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        params = raw.params
        symbol = required_text(params, "symbol").upper()
        side = _SIDES[choice(params, "side", _SIDES)]
        order_type = choice(params, "type", ORDER_TYPES)
        quantity = decimal_value(params, "quantity", positive=False)
        quote_quantity = decimal_value(params, "quoteOrderQty", positive=False)
        price = decimal_value(params, "price", positive=False)
        time_in_force = optional_text(params, "timeInForce")
        response_type = choice(
            params,
            "newOrderRespType",
            _RESPONSE_TYPES,
            default="FULL" if order_type in ("LIMIT", "MARKET") else "ACK",
        )
        post_only = False
        if order_type == "LIMIT":
            time_in_force = choice(params, "timeInForce", ("GTC", "IOC", "FOK"))
            if time_in_force == "FOK":
                raise ParamError("timeInForce", INVALID_VALUE, "FOK is not simulated")
            for name, value in (("quantity", quantity), ("price", price)):
                if value is None:
                    raise ParamError(name, MISSING)
            if quote_quantity is not None:
                raise ParamError("quoteOrderQty", NOT_ALLOWED)
        elif order_type == "LIMIT_MAKER":
            if time_in_force is not None:
                raise ParamError("timeInForce", NOT_ALLOWED)
            for name, value in (("quantity", quantity), ("price", price)):
                if value is None:
                    raise ParamError(name, MISSING)
            if quote_quantity is not None:
                raise ParamError("quoteOrderQty", NOT_ALLOWED)
            post_only, time_in_force = True, "GTC"
        else:
            for name in ("price", "timeInForce"):
                if optional_text(params, name) is not None:
                    raise ParamError(name, NOT_ALLOWED)
            if quantity is None and quote_quantity is None:
                raise ParamError("quantity", MISSING, "or quoteOrderQty")
            if quantity is not None and quote_quantity is not None:
                raise ParamError("quoteOrderQty", NOT_ALLOWED, "quantity was sent too")
            time_in_force = "GTC"
        order = self.venue.place_order(
            api_key,
            symbol=symbol,
            side=side,
            type="market" if order_type == "MARKET" else "limit",
            quantity=quantity,
            quote_quantity=quote_quantity,
            price=price,
            time_in_force=time_in_force,
            post_only=post_only,
            client_order_id=optional_text(params, "newClientOrderId"),
        )
        return binance_order(order, response_type=response_type)

    def _lookup(self, raw: RawRequest) -> tuple[str, str | None, str | None]:
        symbol = required_text(raw.params, "symbol").upper()
        order_id = int_value(raw.params, "orderId", minimum=0)
        client_id = optional_text(raw.params, "origClientOrderId")
        if order_id is None and client_id is None:
            raise ParamError("orderId", MISSING, "or origClientOrderId")
        return symbol, (str(order_id) if order_id is not None else None), client_id

    def _get_order(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        symbol, order_id, client_id = self._lookup(raw)
        order = self.venue.get_order(
            api_key, symbol=symbol, order_id=order_id, client_order_id=client_id
        )
        return binance_order(order)

    def _cancel_order(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        symbol, order_id, client_id = self._lookup(raw)
        order = self.venue.cancel_order(
            api_key, symbol=symbol, order_id=order_id, client_order_id=client_id
        )
        return self._cancel_body(order)

    @staticmethod
    def _cancel_body(order: SimOrder) -> dict[str, Any]:
        body = binance_order(order, response_type="RESULT")
        body["origClientOrderId"] = order.client_order_id
        body["transactTime"] = order.updated_ms
        return body

    def _open_orders(self, raw: RawRequest, api_key: str) -> list[Any]:
        symbol = optional_text(raw.params, "symbol")
        orders = self.venue.open_orders(api_key, symbol.upper() if symbol else None)
        return [binance_order(o) for o in orders]

    def _cancel_open_orders(self, raw: RawRequest, api_key: str) -> list[Any]:
        symbol = required_text(raw.params, "symbol").upper()
        bodies = []
        for order in self.venue.open_orders(api_key, symbol):
            cancelled = self.venue.cancel_order(api_key, symbol=symbol, order_id=order.order_id)
            bodies.append(self._cancel_body(cancelled))
        return bodies

    def _all_orders(self, raw: RawRequest, api_key: str) -> list[Any]:
        symbol = required_text(raw.params, "symbol").upper()
        from_id = int_value(raw.params, "orderId", minimum=0)
        start = int_value(raw.params, "startTime", minimum=0)
        end = int_value(raw.params, "endTime", minimum=0)
        limit = int_value(raw.params, "limit", default=500, minimum=1, maximum=1000) or 500
        orders = [
            o
            for o in self.venue.all_orders(api_key, symbol)
            if (from_id is None or int(o.order_id) >= from_id)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        orders.sort(key=lambda o: int(o.order_id))
        chosen = orders[:limit] if (from_id is not None or start is not None) else orders[-limit:]
        return [binance_order(o) for o in chosen]

    def _my_trades(self, raw: RawRequest, api_key: str) -> list[Any]:
        symbol = required_text(raw.params, "symbol").upper()
        order_id = int_value(raw.params, "orderId", minimum=0)
        from_id = int_value(raw.params, "fromId", minimum=0)
        start = int_value(raw.params, "startTime", minimum=0)
        end = int_value(raw.params, "endTime", minimum=0)
        limit = int_value(raw.params, "limit", default=500, minimum=1, maximum=1000) or 500
        trades = [
            t
            for t in self.venue.trades(api_key, symbol, start_ms=start, end_ms=end)
            if (order_id is None or int(t.order_id) == order_id)
            and (from_id is None or int(t.trade_id) >= from_id)
        ]
        oldest_first = from_id is not None or start is not None
        chosen = trades[:limit] if oldest_first else trades[-limit:]
        return [binance_trade(t) for t in chosen]
