"""The Bybit v5 face: ``/v5/market/*`` (public) and the signed account, order and execution
endpoints, plus the account-type calls default-configured clients make.

Every answer is in the ``retCode`` envelope (a body without ``retCode`` makes ccxt raise).
Each market is listed under its own category: spot markets under ``category=spot``, linear
perpetuals under ``category=linear``; ``inverse`` and ``option`` answer empty lists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from simulator.errors import SimDown, SimError, SimRateLimited, SimTimeout
from simulator.markets import SimMarket
from simulator.models import SimOrder
from simulator.rest.bybit_format import (
    CoinHoldings,
    bybit_book_levels,
    bybit_envelope,
    bybit_execution,
    bybit_instrument,
    bybit_kline,
    bybit_linear_instrument,
    bybit_linear_ticker,
    bybit_order,
    bybit_position,
    bybit_status,
    bybit_ticker,
    bybit_wallet,
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
from simulator.rest.intervals import BYBIT_INTERVALS
from simulator.rest.params import (
    MISSING,
    ParamError,
    choice,
    decimal_value,
    int_value,
    optional_text,
    required_text,
)
from simulator.rest.signing import AuthFailure, verify_bybit

__all__ = ["BybitFace", "EXCHANGE"]

EXCHANGE = "bybit"

Handler = Callable[[RawRequest, str], Any]

_CATEGORIES = ("spot", "linear", "inverse", "option")
_LISTED = ("spot", "linear")  # the categories with markets (a SimMarket's market_type)
_SIDES = {"Buy": "buy", "Sell": "sell"}
_ORDER_TYPES = ("Market", "Limit")
_TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PostOnly")
_MARKET_UNITS = ("baseCoin", "quoteCoin")


def _param_error_message(error: ParamError) -> str:
    detail = f" ({error.detail})" if error.detail else ""
    if error.reason == MISSING:
        return f"params error: {error.field} is required{detail}"
    return f"params error: {error.field} invalid{detail}"


def _by_symbol(params: dict[str, str]) -> str | None:
    symbol = optional_text(params, "symbol")
    return symbol.upper() if symbol is not None else None


class BybitFace:
    """Routes and handlers of the Bybit face over one :class:`RestContext`."""

    def __init__(self, context: RestContext) -> None:
        self.context = context
        self.venue = context.sim.venue(EXCHANGE)

    # -- plumbing ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, str, Handler, bool]] = [
            ("/v5/market/time", "GET", self._time, False),
            ("/v5/market/instruments-info", "GET", self._instruments, False),
            ("/v5/market/tickers", "GET", self._tickers, False),
            ("/v5/market/kline", "GET", self._kline, False),
            ("/v5/market/orderbook", "GET", self._orderbook, False),
            ("/v5/account/wallet-balance", "GET", self._wallet, True),
            ("/v5/account/info", "GET", self._account_info, True),
            ("/v5/user/query-api", "GET", self._query_api, True),
            ("/v5/asset/coin/query-info", "GET", self._coin_info, True),
            ("/v5/order/create", "POST", self._create, True),
            ("/v5/order/cancel", "POST", self._cancel, True),
            ("/v5/order/cancel-all", "POST", self._cancel_all, True),
            ("/v5/order/realtime", "GET", self._realtime, True),
            ("/v5/order/history", "GET", self._history, True),
            ("/v5/execution/list", "GET", self._executions, True),
            ("/v5/position/list", "GET", self._positions, True),
        ]
        return [
            Route(path, self._endpoint(handler, signed), methods=[method], name=f"bybit {path}")
            for path, method, handler, signed in table
        ]

    def _endpoint(self, handler: Handler, signed: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self._dispatch(request, handler, signed)

        return endpoint

    def _now(self) -> int:
        return self.context.wall_clock.now_ms()

    def _error(
        self, code: int, message: str, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        body = bybit_envelope({}, now_ms=self._now(), ret_code=code, ret_msg=message)
        return json_response(body, status, headers)

    async def _dispatch(self, request: Request, handler: Handler, signed: bool) -> Response:
        context = self.context
        try:
            raw = await read_raw(request)
            api_key = ""
            if signed:
                api_key = verify_bybit(
                    headers=raw.headers,
                    method=raw.method,
                    raw_query=raw.query,
                    raw_body=raw.body,
                    secret_of=context.secret_of(EXCHANGE),
                    now_ms=self._now(),
                )
            result = await run_sim(context, lambda: handler(raw, api_key))
            return json_response(bybit_envelope(result, now_ms=self._now()))
        except AuthFailure as exc:
            return self._error(exc.code, exc.message, exc.http_status)
        except ParamError as exc:
            return self._error(10001, _param_error_message(exc))
        except SimDown as exc:
            if exc.mode == "refused":
                return await drop_connection(context, request)
            return plain_response("Service Unavailable", 503)
        except SimRateLimited as exc:
            reset_ms = self._now() + exc.retry_after_s * 1000
            headers = {
                "Retry-After": str(exc.retry_after_s),
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
            }
            return self._error(int(exc.code), exc.message, exc.http_status, headers)
        except SimTimeout:
            return await lose_response(context, request)
        except SimError as exc:
            return self._error(int(exc.code), exc.message, exc.http_status)
        except ValueError as exc:
            return self._error(10001, f"params error: {exc}")

    def _category(self, raw: RawRequest) -> str:
        return choice(raw.params, "category", _CATEGORIES)

    def _listed(self, category: str) -> bool:
        """True for the categories with markets (spot, linear); others answer empty lists."""
        return category in _LISTED

    def _elsewhere(self, symbol: str, category: str) -> bool:
        """True when ``symbol`` is a market of another category: it is not listed under
        ``category`` (an unknown symbol is left to the venue, which refuses it)."""
        market = self.venue.markets.get(symbol)
        return market is not None and market.market_type != category

    def _in(self, symbol: str, category: str) -> bool:
        """True when ``symbol`` is a market of ``category``."""
        market = self.venue.markets.get(symbol)
        return market is not None and market.market_type == category

    def _coin_filter(self, raw: RawRequest, category: str) -> Callable[[str], bool]:
        """``baseCoin``/``settleCoin`` filters of the linear lists (ccxt sends
        ``settleCoin=USDT`` when it lists linear orders without a symbol)."""
        base = optional_text(raw.params, "baseCoin")
        settle = optional_text(raw.params, "settleCoin") if category == "linear" else None

        def keep(symbol: str) -> bool:
            market = self.venue.markets.get(symbol)
            if market is None:
                return False
            if base is not None and market.base != base.upper():
                return False
            return settle is None or market.quote == settle.upper()

        return keep

    # -- market data ------------------------------------------------------------------------

    def _time(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        self.venue.server_time()  # the "time" endpoint's faults
        now = self._now()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}

    def _instruments(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        if not self._listed(category):
            return {"category": category, "list": [], "nextPageCursor": ""}
        symbol = _by_symbol(raw.params)
        base = optional_text(raw.params, "baseCoin")
        status = optional_text(raw.params, "status")
        listed = []
        for market in self.venue.list_markets():
            if market.market_type != category:
                continue
            entry = (
                bybit_instrument(market) if category == "spot" else bybit_linear_instrument(market)
            )
            if symbol is not None and market.symbol != symbol:
                continue
            if base is not None and market.base != base.upper():
                continue
            if status is not None and entry["status"] != status:
                continue
            listed.append(entry)
        return {"category": category, "list": listed, "nextPageCursor": ""}

    def _tickers(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        if not self._listed(category):
            return {"category": category, "list": []}
        symbol = _by_symbol(raw.params)
        if symbol is not None:
            names = [] if self._elsewhere(symbol, category) else [symbol]
        else:
            names = sorted(self._symbols(category))
        listed = []
        for name in names:
            ticker = self.venue.ticker(name)
            market = self.venue.markets[ticker.symbol]
            depth = display_depth(market, ticker.last)
            if category == "spot":
                listed.append(bybit_ticker(ticker, depth))
            else:
                listed.append(bybit_linear_ticker(ticker, depth, self._open_interest(market)))
        return {"category": category, "list": listed}

    def _symbols(self, category: str) -> list[str]:
        return [s for s, m in self.venue.markets.items() if m.market_type == category]

    def _open_interest(self, market: SimMarket) -> Decimal:
        """The accounts' position sizes in ``market`` (the venue is their counterparty)."""
        with self.context.sim.lock:
            return sum(
                (abs(a.position_quantity(market.symbol)) for a in self.venue.accounts.values()),
                Decimal(0),
            )

    def _kline(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = choice(raw.params, "category", _CATEGORIES, default="linear")
        symbol = required_text(raw.params, "symbol").upper()
        interval = choice(raw.params, "interval", BYBIT_INTERVALS)
        limit = int_value(raw.params, "limit", default=200, minimum=1, maximum=1000) or 200
        if not self._listed(category) or self._elsewhere(symbol, category):
            return {"category": category, "symbol": symbol, "list": []}
        klines = self.venue.klines(
            symbol,
            BYBIT_INTERVALS[interval],
            start_ms=int_value(raw.params, "start", minimum=0),
            end_ms=int_value(raw.params, "end", minimum=0),
            limit=limit,
        )
        newest_first = [bybit_kline(k) for k in reversed(klines)]
        return {"category": category, "symbol": symbol, "list": newest_first}

    def _orderbook(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        symbol = required_text(raw.params, "symbol").upper()
        limit = int_value(raw.params, "limit", default=1, minimum=1, maximum=200) or 1
        if not self._listed(category) or self._elsewhere(symbol, category):
            return {"s": symbol, "b": [], "a": [], "ts": self._now(), "u": 0, "seq": 0, "cts": 0}
        bids, asks = self.venue.order_book(symbol, limit)
        clock = self.context.sim.clock_ms
        return {
            "s": symbol,
            "b": bybit_book_levels(bids),
            "a": bybit_book_levels(asks),
            "ts": clock,
            "u": clock,
            "seq": clock,
            "cts": clock,
        }

    # -- account ----------------------------------------------------------------------------

    def _wallet(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        account_type = required_text(raw.params, "accountType")
        if account_type != "UNIFIED":
            raise ParamError("accountType", "invalid_value", "only UNIFIED is simulated")
        with self.context.sim.lock:  # balances and positions of one moment
            balances = self.venue.balances(api_key)
            holdings = self._holdings(api_key)
        coins = optional_text(raw.params, "coin")
        if coins is not None:
            wanted = {c.strip().upper() for c in coins.split(",")}
            balances = {a: b for a, b in balances.items() if a in wanted}
        return bybit_wallet(balances, self._usd_prices(balances), holdings)

    def _holdings(self, api_key: str) -> dict[str, CoinHoldings]:
        """Margin and unrealised PnL of the account's linear positions, per settle coin (read
        without a second pass through the fault gate: the wallet call already passed it)."""
        margin: dict[str, Decimal] = {}
        unrealised: dict[str, Decimal] = {}
        for symbol, position in self.venue.account(api_key).position_views().items():
            market = self.venue.markets.get(symbol)
            if market is None or position.quantity == 0:
                continue
            value = abs(position.quantity) * self.venue.last_price(symbol)
            pnl = value - position.margin if position.quantity > 0 else position.margin - value
            coin = market.quote
            margin[coin] = margin.get(coin, Decimal(0)) + position.margin
            unrealised[coin] = unrealised.get(coin, Decimal(0)) + pnl
        return {coin: CoinHoldings(margin[coin], unrealised[coin]) for coin in margin}

    def _usd_prices(self, assets: dict[str, Any]) -> dict[str, Decimal]:
        prices: dict[str, Decimal] = {}
        for asset in assets:
            if asset in ("USDT", "USDC", "USD"):
                prices[asset] = Decimal(1)
            elif f"{asset}USDT" in self.venue.markets:
                prices[asset] = self.venue.last_price(f"{asset}USDT")
        return prices

    def _account_info(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        self.venue.account(api_key)
        return {
            "unifiedMarginStatus": 6,
            "marginMode": "REGULAR_MARGIN",
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
            "updatedTime": str(self.context.sim.clock_ms),
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
        }

    def _query_api(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        self.venue.account(api_key)
        return {
            "id": "1",
            "note": "qtrade simulator",
            "apiKey": api_key,
            "readOnly": 0,
            "secret": "",
            "permissions": {
                "ContractTrade": ["Order", "Position"],
                "Spot": ["SpotTrade"],
                "Wallet": ["AccountTransfer"],
                "Options": [],
                "Derivatives": [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
            },
            "ips": ["*"],
            "type": 1,
            "deadlineDay": -1,
            "expiredAt": "",
            "createdAt": "",
            "unified": 0,
            "uta": 1,
            "userID": 1,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
        }

    def _coin_info(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        self.venue.account(api_key)
        return {"rows": []}

    # -- orders -----------------------------------------------------------------------------

    def _trading_category(self, raw: RawRequest, symbol: str) -> SimMarket:
        category = self._category(raw)
        market = self.venue.market(symbol)
        if market.market_type != category:
            raise self.venue.spec.errors.error("invalid_symbol")
        return market

    def _create(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        params = raw.params
        symbol = required_text(params, "symbol").upper()
        market = self._trading_category(raw, symbol)
        side = _SIDES[choice(params, "side", _SIDES)]
        order_type = choice(params, "orderType", _ORDER_TYPES)
        qty = decimal_value(params, "qty", required=True, positive=False)
        time_in_force = choice(params, "timeInForce", _TIME_IN_FORCE, default="GTC")
        reduce_only = optional_text(params, "reduceOnly") == "true"
        client_id = optional_text(params, "orderLinkId")
        linear = market.market_type == "linear"
        if linear and optional_text(params, "positionIdx") not in (None, "0"):
            raise ParamError("positionIdx", "invalid_value", "only one-way mode (0) is simulated")
        if order_type == "Market" and linear:
            # Contracts: qty is always base (Bybit's marketUnit is spot only).
            order = self.venue.place_order(
                api_key,
                symbol=symbol,
                side=side,
                type="market",
                quantity=qty,
                client_order_id=client_id,
                reduce_only=reduce_only,
            )
        elif order_type == "Market":
            # Spot market buys are sized in quote by default, sells in base (Bybit's rule).
            default_unit = "quoteCoin" if side == "buy" else "baseCoin"
            unit = choice(params, "marketUnit", _MARKET_UNITS, default=default_unit)
            order = self.venue.place_order(
                api_key,
                symbol=symbol,
                side=side,
                type="market",
                quantity=qty if unit == "baseCoin" else None,
                quote_quantity=qty if unit == "quoteCoin" else None,
                client_order_id=client_id,
                reduce_only=reduce_only,
            )
        else:
            price = decimal_value(params, "price", required=True, positive=False)
            if time_in_force == "FOK":
                raise ParamError("timeInForce", "invalid_value", "FOK is not simulated")
            order = self.venue.place_order(
                api_key,
                symbol=symbol,
                side=side,
                type="limit",
                quantity=qty,
                price=price,
                time_in_force="IOC" if time_in_force == "IOC" else "GTC",
                post_only=time_in_force == "PostOnly",
                client_order_id=client_id,
                reduce_only=reduce_only,
            )
        return {"orderId": order.order_id, "orderLinkId": order.client_order_id}

    def _order_ref(self, raw: RawRequest) -> tuple[str | None, str | None]:
        order_id = optional_text(raw.params, "orderId")
        client_id = optional_text(raw.params, "orderLinkId")
        return order_id, client_id

    def _cancel(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        symbol = required_text(raw.params, "symbol").upper()
        self._trading_category(raw, symbol)
        order_id, client_id = self._order_ref(raw)
        if order_id is None and client_id is None:
            raise ParamError("orderId", MISSING, "or orderLinkId")
        order = self.venue.cancel_order(
            api_key, symbol=symbol, order_id=order_id, client_order_id=client_id
        )
        return {"orderId": order.order_id, "orderLinkId": order.client_order_id}

    def _cancel_all(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        symbol = _by_symbol(raw.params)
        keep = self._coin_filter(raw, category)
        cancelled = []
        for order in self.venue.open_orders(api_key, symbol):
            if not self._in(order.symbol, category) or not keep(order.symbol):
                continue
            done = self.venue.cancel_order(api_key, symbol=order.symbol, order_id=order.order_id)
            cancelled.append({"orderId": done.order_id, "orderLinkId": done.client_order_id})
        return {"list": cancelled, "success": "1"}

    def _find(
        self, api_key: str, symbol: str | None, raw: RawRequest, category: str
    ) -> list[SimOrder] | None:
        """The order named by ``orderId``/``orderLinkId`` whatever its status ([] if none,
        or if its market is not of ``category``); None when the request names no order."""
        order_id, client_id = self._order_ref(raw)
        if order_id is None and client_id is None:
            return None
        if symbol is not None and self._elsewhere(symbol, category):
            return []
        if symbol is not None:
            try:
                found = self.venue.get_order(
                    api_key, symbol=symbol, order_id=order_id, client_order_id=client_id
                )
            except SimError as exc:
                if exc.reason == "order_not_found":
                    return []
                raise
            return [found]
        candidates = [
            o
            for o in self.venue.all_orders(api_key, symbol)
            if (order_id is None or o.order_id == order_id)
            and (client_id is None or o.client_order_id == client_id)
            and self._in(o.symbol, category)
        ]
        return candidates[-1:]

    def _page(self, orders: list[SimOrder], raw: RawRequest) -> dict[str, Any]:
        limit = int_value(raw.params, "limit", default=20, minimum=1, maximum=50) or 20
        category = self._category(raw)
        newest_first = sorted(orders, key=lambda o: (o.created_ms, int(o.order_id)), reverse=True)
        return {
            "category": category,
            "list": [bybit_order(o, linear=category == "linear") for o in newest_first[:limit]],
            "nextPageCursor": "",
        }

    def _realtime(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        symbol = _by_symbol(raw.params)
        if not self._listed(category):
            return {"category": category, "list": [], "nextPageCursor": ""}
        named = self._find(api_key, symbol, raw, category)
        if named is not None:
            return self._page(named, raw)
        keep = self._coin_filter(raw, category)
        opened = [
            o
            for o in self.venue.open_orders(api_key, symbol)
            if self._in(o.symbol, category) and keep(o.symbol)
        ]
        return self._page(opened, raw)

    def _history(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        symbol = _by_symbol(raw.params)
        if not self._listed(category):
            return {"category": category, "list": [], "nextPageCursor": ""}
        named = self._find(api_key, symbol, raw, category)
        if named is not None:
            return self._page(named, raw)
        status = optional_text(raw.params, "orderStatus")
        start = int_value(raw.params, "startTime", minimum=0)
        end = int_value(raw.params, "endTime", minimum=0)
        keep = self._coin_filter(raw, category)
        orders = [
            o
            for o in self.venue.all_orders(api_key, symbol)
            if not o.status.is_open
            and self._in(o.symbol, category)
            and keep(o.symbol)
            and (status is None or bybit_status(o) == status)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        return self._page(orders, raw)

    def _executions(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        category = self._category(raw)
        if not self._listed(category):
            return {"category": category, "list": [], "nextPageCursor": ""}
        symbol = _by_symbol(raw.params)
        if symbol is not None and self._elsewhere(symbol, category):
            return {"category": category, "list": [], "nextPageCursor": ""}
        keep = self._coin_filter(raw, category)
        order_id, client_id = self._order_ref(raw)
        exec_type = optional_text(raw.params, "execType")
        limit = int_value(raw.params, "limit", default=50, minimum=1, maximum=100) or 50
        start = int_value(raw.params, "startTime", minimum=0)
        end = int_value(raw.params, "endTime", minimum=0)
        trades = [
            t
            for t in self.venue.trades(api_key, symbol, start_ms=start, end_ms=end)
            if (order_id is None or t.order_id == order_id)
            and (client_id is None or t.client_order_id == client_id)
            and self._in(t.symbol, category)
            and keep(t.symbol)
        ]
        if exec_type not in (None, "Trade"):
            trades = []
        orders = {o.order_id: o for o in self.venue.all_orders(api_key, symbol)} if trades else {}
        chosen = trades[:limit] if start is not None else trades[-limit:]
        listed = [
            bybit_execution(t, orders.get(t.order_id), self.venue.markets[t.symbol])
            for t in reversed(chosen)
        ]
        return {"category": category, "list": listed, "nextPageCursor": ""}

    # -- positions --------------------------------------------------------------------------

    def _positions(self, raw: RawRequest, api_key: str) -> dict[str, Any]:
        """``/v5/position/list`` for linear markets (one-way mode, 1x). With ``symbol``: that
        market's position (size 0 when flat); without: the open positions, filtered by
        ``settleCoin``/``baseCoin``."""
        category = self._category(raw)
        symbol = _by_symbol(raw.params)
        empty = {"category": category, "list": [], "nextPageCursor": ""}
        if category != "linear" or (symbol is not None and self._elsewhere(symbol, category)):
            return empty
        if symbol is not None:
            self.venue.market(symbol)  # an unknown symbol is refused
        keep = self._coin_filter(raw, category)
        with self.context.sim.lock:
            positions = self.venue.positions(api_key)
            now = self.context.sim.clock_ms
            if symbol is not None:
                wanted = [(symbol, positions.get(symbol))]
            else:
                wanted = [
                    (name, position)
                    for name, position in positions.items()
                    if position.quantity != 0 and self._in(name, category) and keep(name)
                ]
            listed = [
                bybit_position(name, position, self.venue.last_price(name), now)
                for name, position in wanted
            ]
        return {"category": category, "list": listed, "nextPageCursor": ""}
