"""``CcxtExchange``: :class:`engine.ports.ExchangePort` over ccxt's async clients (binance, bybit).

- Real exchanges (live or ``testnet=True``, ccxt's sandbox URLs) or any ``base_url`` (the
  simulator's REST faces: every REST host in ``urls['api']`` is replaced, paths kept).
- Market rules (SPEC §5) from ``load_markets``: the port's ``load_markets`` always asks the
  exchange (the engine decides when); lookups between loads (:meth:`CcxtExchange.market_rules`,
  symbol mapping) use the last answer, reloaded after ``refresh_seconds`` of the injected clock.
- Orders carry the engine's client order id. Whenever an attempt to place an order ended
  without a clear answer (timeout, connection error, 5xx), the next attempt first looks the
  order up by that id and returns it when it exists, so an order is never placed twice —
  also when the command comes back later after the retries ran out (the id is remembered).
- Every ccxt exception goes through :func:`engine.adapters.ccxt_errors.translate`; retries
  follow one :class:`RetryPolicy`; a token-bucket :class:`RateLimiter` keeps calls under the
  venue's published limits and honours ``Retry-After``.
- Connection state (:class:`engine.domain.ConnectionState`): ``ok`` after an answer,
  ``degraded`` after a transient failure, ``disconnected`` after ``disconnect_after``
  consecutive ones or exhausted retries, ``auth_failed`` on bad keys — then private calls
  fail at once without touching the network until :meth:`CcxtExchange.update_credentials`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from engine.adapters import ccxt_convert as convert
from engine.adapters.ccxt_errors import (
    DUPLICATE_CLIENT_ORDER_ID,
    TRANSLATABLE,
    UNKNOWN_SYMBOL,
    translate,
)
from engine.adapters.ccxt_venues import VenueProfile, redirect_urls, venue_profile
from engine.adapters.connection_health import ConnectionHealth, HealthTracker, StateListener
from engine.adapters.ratelimit import RateLimiter
from engine.adapters.retry import RetryPolicy, Sleep
from engine.domain import (
    CancelOrder,
    ConnectionState,
    MarketRules,
    MarketType,
    OrderType,
    PlaceOrder,
    normalise_symbol,
)
from engine.errors import (
    AuthFailed,
    ExchangeFailure,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)
from engine.ports import Clock, OrderReport, PortNotice

__all__ = ["CcxtExchange", "build_ccxt_client"]

T = TypeVar("T")
DEFAULT_REFRESH_SECONDS = 172_800  # risk_config.precision.refresh_seconds default


def build_ccxt_client(
    profile: VenueProfile,
    *,
    api_key: str,
    api_secret: str,
    testnet: bool,
    base_url: str | None,
    timeout_ms: int,
    market_type: MarketType,
    more_market_types: tuple[MarketType, ...] = (),
) -> Any:
    """A ``ccxt.async_support`` client configured for the venue (our limiter replaces ccxt's)."""
    import ccxt.async_support as ccxt_async

    config: dict[str, Any] = {
        "apiKey": api_key,
        "secret": api_secret,
        "enableRateLimit": False,
        "timeout": timeout_ms,
        "options": profile.options(market_type, *more_market_types),
    }
    if profile.has:
        config["has"] = dict(profile.has)
    client = getattr(ccxt_async, profile.ccxt_id)(config)
    if testnet:
        client.set_sandbox_mode(True)
    if base_url:
        client.urls["api"] = redirect_urls(client.urls["api"], base_url)
    return client


class CcxtExchange:
    """The ccxt adapter for one account on one exchange (see the module docstring)."""

    def __init__(
        self,
        venue: str,
        *,
        clock: Clock,
        rng: random.Random,
        api_key: str = "",
        api_secret: str = "",
        testnet: bool = False,
        base_url: str | None = None,
        market_type: MarketType = MarketType.SPOT,
        also_market_types: tuple[MarketType, ...] = (),
        refresh_seconds: int = DEFAULT_REFRESH_SECONDS,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
        client: Any = None,
        timeout_ms: int = 10_000,
        disconnect_after: int = 3,
        on_state_change: StateListener | None = None,
    ) -> None:
        self.profile = venue_profile(venue)
        self.name = self.profile.name
        self.market_type = market_type
        # the types whose markets are loaded; a symbol listed under several keeps the first
        self.market_types = (market_type, *(t for t in also_market_types if t != market_type))
        self._clock = clock
        self._rng = rng
        self._sleep = sleep
        self._retry = retry or RetryPolicy()
        self._limiter = limiter or RateLimiter(
            {"requests": self.profile.request_rate, "orders": self.profile.order_rate},
            clock,
            sleep,
        )
        self._client = client or build_ccxt_client(
            self.profile,
            api_key=api_key,
            api_secret=api_secret,
            testnet=testnet,
            base_url=base_url,
            timeout_ms=timeout_ms,
            market_type=market_type,
            more_market_types=self.market_types[1:],
        )
        self._refresh_ms = refresh_seconds * 1000
        self._rules: dict[str, MarketRules] = {}
        self._unified: dict[str, str] = {}  # market id -> ccxt symbol
        self._loaded_at_ms: int | None = None
        self._unconfirmed: set[str] = set()  # client ids whose placement outcome is unknown
        self._notices: list[PortNotice] = []  # failures retried here, for the caller's alerts
        self._health = HealthTracker(
            self.name, clock, disconnect_after=disconnect_after, listener=on_state_change
        )

    # -- health ----------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._health.state

    def health(self) -> ConnectionHealth:
        return self._health.current

    @property
    def unconfirmed_orders(self) -> frozenset[str]:
        """Client ids whose placement ended without an answer and was not looked up yet."""
        return frozenset(self._unconfirmed)

    def drain_notices(self) -> list[PortNotice]:
        """Failures this adapter retried by itself since the last call (oldest first)."""
        notices, self._notices = self._notices, []
        return notices

    async def probe_auth(self) -> None:
        """One signed request even while ``auth_failed`` (the service probes once per sync,
        so nothing retries in a loop): when the keys are accepted again the account is
        ``ok``; otherwise the refusal is raised as :class:`AuthFailed`."""
        await self._once(
            "fetch_open_orders_all",
            lambda: self._client.fetch_open_orders(None),
            private=True,
            gate=False,
        )

    def update_credentials(self, api_key: str, api_secret: str) -> None:
        """New keys (after ``auth_failed``): private calls are allowed again."""
        self._client.apiKey = api_key
        self._client.secret = api_secret
        self._health.reset()

    # -- call plumbing ---------------------------------------------------------------------
    async def _once(
        self,
        operation: str,
        call: Callable[[], Awaitable[T]],
        *,
        private: bool,
        order: bool = False,
        gate: bool = True,
    ) -> T:
        """One request: auth gate (unless a deliberate probe), rate limiter, translation,
        health bookkeeping."""
        if gate and private and self.state == ConnectionState.AUTH_FAILED:
            raise AuthFailed(f"{self.name}: API keys were refused; not calling until updated")
        costs = {"requests": self.profile.weight(operation)}
        if order:
            costs["orders"] = 1.0
        await self._limiter.acquire(costs)
        try:
            result = await call()
        except TRANSLATABLE as exc:
            failure = translate(
                exc,
                headers=getattr(self._client, "last_response_headers", None),
                now_ms=self._clock.now_ms(),
            )
            if isinstance(failure, RateLimited) and failure.retry_after_seconds:
                pause_ms = int(failure.retry_after_seconds * 1000)
                self._limiter.pause_until(self._clock.now_ms() + pause_ms)
            self._health.failed(failure, private)
            raise failure from exc
        self._health.answered(private)
        return result

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], operation: str) -> T:
        """Run ``attempt`` under the retry policy (transient failures only); each failure
        retried here is kept as a :class:`PortNotice` for :meth:`drain_notices`."""
        number = 0
        while True:
            number += 1
            try:
                return await attempt()
            except ExchangeFailure as failure:
                retry_after = getattr(failure, "retry_after_seconds", None)
                if not failure.retryable or not self._retry.should_retry(number, retry_after):
                    if failure.retryable:
                        self._health.gave_up(failure)
                    raise
                delay = self._retry.delay(number, self._rng, retry_after)
                kind = "rate_limited" if isinstance(failure, RateLimited) else "retried"
                self._notices.append(PortNotice(kind, operation, str(failure), retry_after))
                await self._sleep(delay)

    async def _request(
        self, operation: str, call: Callable[[], Awaitable[T]], *, private: bool
    ) -> T:
        """One retried request: :meth:`_once` under :meth:`_retrying`."""
        return await self._retrying(lambda: self._once(operation, call, private=private), operation)

    # -- markets ---------------------------------------------------------------------------
    async def load_markets(self) -> list[MarketRules]:
        """The port's load: the exchange's market rules, fetched now. When to load is the
        engine's decision (SPEC §5 refresh timing, ``POST /precision/refresh``); a cached
        answer here would hide a filter change the engine asked to see."""
        return await self.refresh_markets()

    async def _cached_markets(self) -> None:
        """Rules for lookups between loads: the cache, reloaded once it is stale."""
        now = self._clock.now_ms()
        if self._loaded_at_ms is None or now - self._loaded_at_ms >= self._refresh_ms:
            await self.refresh_markets()

    async def refresh_markets(self) -> list[MarketRules]:
        """Reload the exchange's market metadata now."""
        reload = self._loaded_at_ms is not None
        markets: Mapping[str, Any] = await self._request(
            "load_markets", lambda: self._client.load_markets(reload), private=False
        )
        mode = int(getattr(self._client, "precisionMode", convert.TICK_SIZE))
        rules: dict[str, MarketRules] = {}
        unified: dict[str, str] = {}
        for symbol, market in markets.items():
            kind = _market_type(market)
            if kind not in self.market_types or market.get("active") is False:
                continue
            rule = convert.market_rules(self.name, market, mode, kind)
            held = rules.get(rule.symbol)
            if held is not None and self.market_types.index(held.market_type) <= (
                self.market_types.index(kind)
            ):
                continue  # listed under a preferred type already
            rules[rule.symbol] = rule
            unified[rule.symbol] = symbol
        self._rules, self._unified = rules, unified
        self._loaded_at_ms = self._clock.now_ms()
        return list(rules.values())

    async def market_rules(self, symbol: str) -> MarketRules | None:
        await self._cached_markets()
        return self._rules.get(normalise_symbol(symbol))

    async def _ccxt_symbol(self, symbol: str) -> str | None:
        if self._loaded_at_ms is None:
            await self._cached_markets()
        return self._unified.get(normalise_symbol(symbol))

    async def _need_symbol(self, symbol: str) -> str:
        found = await self._ccxt_symbol(symbol)
        if found is None:
            raise NotFound(f"{self.name}: unknown symbol {symbol!r}")
        return found

    async def fetch_price(self, symbol: str) -> Decimal:
        unified = await self._need_symbol(symbol)
        ticker = await self._request(
            "fetch_price", lambda: self._client.fetch_ticker(unified), private=False
        )
        price = convert.dec(ticker.get("last")) or convert.dec(ticker.get("close"))
        if price is None:
            raise TransientError(f"{self.name}: no last price for {symbol}")
        return price

    # -- orders ----------------------------------------------------------------------------
    def _check_client_id(self, client_order_id: str) -> None:
        if not self.profile.client_id_pattern.match(client_order_id):
            raise OrderRejectedError(
                f"client_order_id {client_order_id!r} is not accepted by {self.name} "
                f"({self.profile.client_id_pattern.pattern})",
                reason="invalid_client_order_id",
            )

    async def place_order(self, command: PlaceOrder) -> OrderReport:
        """Place ``command`` once and only once (see the module docstring)."""
        self._check_client_id(command.client_order_id)
        unified = await self._ccxt_symbol(command.symbol)
        if unified is None:
            raise OrderRejectedError(
                f"{self.name}: unknown symbol {command.symbol!r}", reason=UNKNOWN_SYMBOL
            )
        cid = command.client_order_id

        async def attempt() -> OrderReport:
            if cid in self._unconfirmed:
                existing = await self._lookup(unified, cid)
                if existing is not None:
                    self._unconfirmed.discard(cid)
                    return await self._complete(existing, command.symbol, cid, command.quantity)
            try:
                raw = await self._once(
                    "place_order", lambda: self._create(unified, command), private=True, order=True
                )
            except OrderRejectedError as rejected:
                if rejected.reason != DUPLICATE_CLIENT_ORDER_ID:
                    raise
                raw = await self._lookup(unified, cid)  # the id is taken: by our order?
                if raw is None:
                    raise
            except TransientError as failure:
                if not isinstance(failure, RateLimited):  # a 429 was refused, not lost
                    self._unconfirmed.add(cid)
                raise
            else:
                if self.profile.ack_only_replies:
                    raw = await self._lookup_quietly(unified, cid) or raw
            self._unconfirmed.discard(cid)
            return await self._complete(raw, command.symbol, cid, command.quantity)

        return await self._retrying(attempt, "place_order")

    def _create(self, unified: str, command: PlaceOrder) -> Awaitable[Any]:
        params: dict[str, Any] = {self.profile.client_id_param: command.client_order_id}
        rules = self._rules.get(normalise_symbol(command.symbol))
        linear = rules is not None and rules.market_type == MarketType.LINEAR
        if command.reduce_only and linear:
            params["reduceOnly"] = True
        # A market order never carries a price: with one, ccxt sends a quote-sized order.
        price = format(command.price, "f") if command.type == OrderType.LIMIT else None
        if command.type == OrderType.LIMIT and command.price is None:
            raise OrderRejectedError("limit order without a price", reason="order_rejected")
        return self._client.create_order(  # type: ignore[no-any-return]
            unified,
            command.type.value,
            command.side.value,
            format(command.quantity, "f"),  # positional: never "1E-7"
            price,
            params,
        )

    async def _lookup(self, unified: str, client_order_id: str) -> Mapping[str, Any] | None:
        """The exchange's order with that client id, or None (one request per lookup way)."""
        params = {self.profile.lookup_param: client_order_id}
        for way in self.profile.lookups:
            method = getattr(self._client, way.method)
            args = (
                (None, unified, dict(params))
                if way.shape == "single"
                else (unified, None, None, dict(params))
            )

            async def call(method: Any = method, args: tuple[Any, ...] = args) -> Any:
                return await method(*args)

            try:
                found = await self._once("lookup", call, private=True)
            except NotFound:
                continue
            if way.shape == "single":
                return found if isinstance(found, Mapping) else None
            listed = found
            for order in listed or []:
                if order.get("clientOrderId") == client_order_id:
                    return order  # type: ignore[no-any-return]
        return None

    async def _lookup_quietly(self, unified: str, cid: str) -> Mapping[str, Any] | None:
        """Follow-up read after an acknowledged create/cancel; its failure is not the
        command's failure (the order exists; order sync will read it later)."""
        try:
            return await self._lookup(unified, cid)
        except TransientError:
            return None

    async def _complete(
        self, raw: Mapping[str, Any], symbol: str, cid: str, quantity: Decimal | None
    ) -> OrderReport:
        """Report with fills: from the reply when it lists them all, else fetched."""
        market_id = normalise_symbol(symbol)
        exchange_id = str(raw.get("id") or "")
        default_at = int(raw.get("lastTradeTimestamp") or raw.get("timestamp") or 0)
        default_at = default_at or self._clock.now_ms()
        fills = convert.fills_from_trades(list(raw.get("trades") or []), exchange_id, default_at)
        filled = convert.dec(raw.get("filled")) or Decimal(0)
        if filled > 0 and sum(f.quantity for f in fills) != filled and exchange_id:
            trades = await self._order_trades(symbol, exchange_id)
            if trades is not None:
                fills = convert.fills_from_trades(trades, exchange_id, default_at)
        return convert.order_report(
            raw, market_id=market_id, client_order_id=cid, quantity=quantity, fills=fills
        )

    async def _order_trades(self, symbol: str, exchange_id: str) -> list[Mapping[str, Any]] | None:
        unified = await self._need_symbol(symbol)
        try:
            trades = await self._request(
                "fetch_trades",
                lambda: self._client.fetch_my_trades(unified, None, None, {"orderId": exchange_id}),
                private=True,
            )
        except TransientError:
            return None  # the report stays without fills; order sync asks again
        return [t for t in trades if str(t.get("order")) == exchange_id]

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order by client id (with its fills), or None when the exchange has none."""
        unified = await self._ccxt_symbol(symbol)
        if unified is None:
            return None
        raw = await self._retrying(lambda: self._lookup(unified, client_order_id), "fetch_order")
        if raw is None:
            return None
        self._unconfirmed.discard(client_order_id)
        return await self._complete(raw, symbol, client_order_id, None)

    async def cancel_order(self, command: CancelOrder) -> OrderReport:
        """Cancel by client id. An order already gone (filled, cancelled) is reported as it
        ended; :class:`NotFound` only when the exchange never had it."""
        unified = await self._need_symbol(command.symbol)
        cid = command.client_order_id
        params = {self.profile.lookup_param: cid}
        try:
            raw = await self._request(
                "cancel_order",
                lambda: self._client.cancel_order(None, unified, dict(params)),
                private=True,
            )
        except (NotFound, OrderRejectedError):
            existing = await self.fetch_order(command.symbol, cid)
            if existing is None:
                raise NotFound(f"{self.name}: no order {cid} on {command.symbol}") from None
            return existing
        if self.profile.ack_only_replies or raw.get("status") is None:
            found = await self._lookup_quietly(unified, cid)
            raw = found if found is not None else {**raw, "status": "canceled"}
        return await self._complete(raw, command.symbol, cid, None)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders (without fills; :meth:`fetch_order` gives those)."""
        unified = await self._need_symbol(symbol) if symbol is not None else None
        operation = "fetch_open_orders" if unified else "fetch_open_orders_all"
        orders = await self._request(
            operation, lambda: self._client.fetch_open_orders(unified), private=True
        )
        reports = []
        for order in orders:
            market_id = self._market_id(order.get("symbol"))
            reports.append(
                convert.order_report(
                    order,
                    market_id=market_id,
                    client_order_id=str(order.get("clientOrderId") or ""),
                    quantity=None,
                )
            )
        return reports

    def _market_id(self, unified: Any) -> str:
        for market_id, name in self._unified.items():
            if name == unified:
                return market_id
        return normalise_symbol(str(unified or ""))

    async def close(self) -> None:
        await self._client.close()


def _market_type(market: Mapping[str, Any]) -> MarketType | None:
    """The engine's market type of a ccxt market: spot, or a linear (USDT-settled) swap."""
    if market.get("type") == "spot":
        return MarketType.SPOT
    if market.get("type") == "swap" and market.get("linear"):
        return MarketType.LINEAR
    return None
