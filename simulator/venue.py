"""One simulated exchange (``binance``, ``bybit``...): accounts, markets, orders, fills.

Every public method takes the simulator lock, passes the request through the fault
schedule under its endpoint name, and returns immutable snapshots. Errors are
:class:`~simulator.errors.SimError` with the venue's own codes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from engine.domain import ZERO, MarketRules
from simulator.accounts import Account, InsufficientFunds
from simulator.errors import SimError
from simulator.faults import FaultEffects, FaultSchedule
from simulator.klines import build_klines, merge_history, window_stats
from simulator.markets import SimMarket, VenueSpec
from simulator.matching import OrderState, SymbolBook, TakerFill, plan_taker_fills
from simulator.models import (
    Balance,
    BookLevel,
    Kline,
    Position,
    SimEvent,
    SimOrder,
    SimOrderStatus,
    SimTrade,
    Ticker,
)
from simulator.orders import OrderRequest, validate_order
from simulator.slippage import SlippageModel

__all__ = ["Venue", "VenueHost"]

_POST_ONLY_CANCEL_REASON = "EC_PostOnlyWillTakeLiquidity"


class VenueHost(Protocol):
    """What a venue needs from the simulator that owns it."""

    lock: threading.RLock
    faults: FaultSchedule
    slippage: SlippageModel
    liquidity_per_tick: Decimal | None
    default_balances: dict[str, Decimal]

    @property
    def clock_ms(self) -> int: ...

    def record(self, entry: dict[str, Any]) -> None: ...

    def delay(self, latency_ms: int) -> None: ...

    def path_times(self, symbol: str) -> npt.NDArray[np.int64] | None: ...


class Venue:
    def __init__(self, spec: VenueSpec, host: VenueHost, start_prices: dict[str, Decimal]):
        self.name = spec.name
        self.spec = spec
        self.markets: dict[str, SimMarket] = dict(spec.markets)
        self.accounts: dict[str, Account] = {}
        self.books: dict[str, SymbolBook] = {}
        self.slippage: SlippageModel | None = None  # None: the simulator's model
        self.liquidity_per_tick: Decimal | None = None  # None: the simulator's setting
        self._host = host
        self._start_prices = start_prices
        self._orders: dict[str, OrderState] = {}
        self._by_client: dict[tuple[str, str], list[OrderState]] = {}
        self._orders_by_key: dict[str, list[OrderState]] = {}
        self._trades_by_key: dict[str, list[SimTrade]] = {}
        self._next_order_id = spec.order_id_start
        self._next_trade_id = spec.trade_id_start
        self._sequence = 0
        self._client_pattern = re.compile(spec.quirks.client_id_pattern)
        for market in self.markets.values():
            self._open_book(market)

    # -- set-up -------------------------------------------------------------------------------

    def _open_book(self, market: SimMarket) -> None:
        price = market.start_price or self._start_prices.get(market.symbol)
        if price is None:
            raise ValueError(f"{self.name}.{market.symbol}: no start price")
        ticks = max(1, int((price / market.tick).to_integral_value()))
        clock = self._host.clock_ms
        self.books[market.symbol] = SymbolBook(market, ticks, clock, history=[(clock, ticks)])

    def add_market(self, market: SimMarket) -> None:
        """Add (or replace) a market; it starts at ``market.start_price`` or the seed price."""
        with self._host.lock:
            self.markets[market.symbol] = market
            self._open_book(market)

    def reset(self) -> None:
        """Forget orders and trades, restore balances and start prices (accounts stay)."""
        self._orders.clear()
        self._by_client.clear()
        self._orders_by_key.clear()
        self._trades_by_key.clear()
        self._next_order_id = self.spec.order_id_start
        self._next_trade_id = self.spec.trade_id_start
        self._sequence = 0
        for account in self.accounts.values():
            account.restore()
        for market in self.markets.values():
            self._open_book(market)

    def create_account(
        self, api_key: str, api_secret: str, balances: dict[str, Decimal] | None = None
    ) -> Account:
        if not api_key or not api_secret:
            raise ValueError("api_key/api_secret: must not be empty")
        initial = dict(self._host.default_balances if balances is None else balances)
        for asset, amount in initial.items():
            if not isinstance(amount, Decimal) or amount < 0:
                raise ValueError(f"balances.{asset}: must be a Decimal >= 0")
        with self._host.lock:
            account = Account(api_key, api_secret, initial)
            self.accounts[api_key] = account
            return account

    def account(self, api_key: str) -> Account:
        account = self.accounts.get(api_key)
        if account is None:
            raise self.spec.errors.error("bad_api_key")
        return account

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _request(self, endpoint: str, symbol: str | None = None) -> Iterator[FaultEffects]:
        with self._host.lock:
            effects = self._host.faults.check(self.name, endpoint, symbol=symbol)
        if effects.latency_ms:
            self._host.delay(effects.latency_ms)
        with self._host.lock:
            yield effects

    def _error(self, reason: str, field: str = "") -> SimError:
        return self.spec.errors.error(reason, field=field)

    def market(self, symbol: str) -> SimMarket:
        market = self.markets.get(symbol.upper()) if isinstance(symbol, str) else None
        if market is None:
            raise self._error("invalid_symbol", "symbol")
        return market

    def _lost(self, effects: FaultEffects, result: object) -> None:
        if effects.response_lost:
            raise self.spec.errors.error("response_lost", result=result)

    # -- market data --------------------------------------------------------------------------

    def server_time(self) -> int:
        with self._request("time"):
            return self._host.clock_ms

    def last_price(self, symbol: str) -> Decimal:
        """The current price (no fault check: a read of the simulator's state)."""
        with self._host.lock:
            return self.books[self.market(symbol).symbol].price

    def list_markets(self) -> list[SimMarket]:
        """Markets as the exchange lists them; a ``metadata_missing`` fault hides a tick size."""
        with self._request("markets") as effects:
            return [
                m.without_tick() if m.symbol in effects.hidden_symbols else m
                for m in self.markets.values()
            ]

    def market_rules(self) -> list[MarketRules]:
        return [market.rules(self.name) for market in self.list_markets()]

    def _history(self, symbol: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        book = self.books[symbol]
        times = self._host.path_times(symbol)
        ticks = None
        if times is not None and book.path_ticks is not None:
            ticks = book.path_ticks[: len(times)]
        return merge_history(times, ticks, book.history)

    def ticker(self, symbol: str) -> Ticker:
        with self._request("ticker", symbol):
            market = self.market(symbol)
            book = self.books[market.symbol]
            times, ticks = self._history(market.symbol)
            now = self._host.clock_ms
            open_ticks, high, low, volume, quote = window_stats(times, ticks, book.tape, now)
            tick = market.tick
            return Ticker(
                symbol=market.symbol,
                last=book.price,
                bid=book.price,
                ask=book.price,
                open_24h=tick * open_ticks,
                high_24h=tick * high,
                low_24h=tick * low,
                volume_24h=volume,
                quote_volume_24h=quote,
                time_ms=now,
            )

    def klines(
        self,
        symbol: str,
        interval_ms: int,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        with self._request("klines", symbol):
            market = self.market(symbol)
            times, ticks = self._history(market.symbol)
            return build_klines(
                times,
                ticks,
                market.tick,
                self.books[market.symbol].tape,
                interval_ms=interval_ms,
                now_ms=self._host.clock_ms,
                start_ms=start_ms,
                end_ms=end_ms,
                limit=limit,
            )

    def order_book(self, symbol: str, limit: int = 5) -> tuple[list[BookLevel], list[BookLevel]]:
        """Synthetic (bids, asks) from the slippage model; unlimited depth is shown as
        1,000,000 quote worth."""
        with self._request("depth", symbol):
            market = self.market(symbol)
            book = self.books[market.symbol]
            model = self.slippage or self._host.slippage
            sides = []
            for side in ("sell", "buy"):  # a taker sell hits bids, a taker buy lifts asks
                levels = []
                for index, (ticks, quantity) in enumerate(
                    model.levels(book.price_ticks, side, market.tick, market.step_size)
                ):
                    if index >= limit:
                        break
                    price = market.tick * ticks
                    if quantity is None:
                        quantity = max(
                            market.step_size,
                            (Decimal(1_000_000) / price).quantize(market.step_size),
                        )
                    levels.append(BookLevel(price, quantity))
                sides.append(levels)
            return sides[0], sides[1]

    # -- account data -------------------------------------------------------------------------

    def balances(self, api_key: str) -> dict[str, Balance]:
        with self._request("balances"):
            return self.account(api_key).balances()

    def positions(self, api_key: str) -> dict[str, Position]:
        with self._request("balances"):
            return self.account(api_key).position_views()

    # -- orders -------------------------------------------------------------------------------

    def place_order(
        self,
        api_key: str,
        *,
        symbol: str,
        side: str,
        type: str,
        quantity: Decimal | None = None,
        quote_quantity: Decimal | None = None,
        price: Decimal | None = None,
        time_in_force: str = "GTC",
        post_only: bool = False,
        client_order_id: str | None = None,
        reduce_only: bool = False,
    ) -> SimOrder:
        """Place an order (see docs/simulator.md for the matching rules)."""
        with self._request("order.create", symbol) as effects:
            account = self.account(api_key)
            market = self.market(symbol)
            request = OrderRequest(
                symbol=market.symbol,
                side=side,
                type=type,
                quantity=quantity,
                quote_quantity=quote_quantity,
                price=price,
                time_in_force=time_in_force,
                post_only=post_only,
                client_order_id=client_order_id,
                reduce_only=reduce_only,
            )
            book = self.books[market.symbol]
            validate_order(request, market, book.price, self.spec.errors)
            client_id = self._client_id(api_key, request.client_order_id)
            if effects.rejected_status is not None:
                order = self._new_order(api_key, request, client_id)
                order.status = SimOrderStatus.REJECTED
                order.reject_reason = " ".join(effects.rejected_status)
            else:
                order = self._execute(account, market, book, request, client_id)
            snapshot = order.snapshot()
            self._host.record(
                {
                    "time_ms": self._host.clock_ms,
                    "kind": "order",
                    "exchange": self.name,
                    "order_id": order.order_id,
                    "client_order_id": order.client_order_id,
                    "symbol": order.symbol,
                    "side": order.side,
                    "type": order.type,
                    "status": str(order.status),
                }
            )
            self._lost(effects, snapshot)
            return snapshot

    def _client_id(self, api_key: str, client_order_id: str | None) -> str:
        if client_order_id is None or client_order_id == "":
            return ""
        if not isinstance(client_order_id, str) or not self._client_pattern.match(client_order_id):
            raise self._error("invalid_parameter", "client_order_id")
        existing = self._by_client.get((api_key, client_order_id), [])
        unique_open = self.spec.quirks.client_id_unique == "open"
        if any(o.status.is_open for o in existing) or (existing and not unique_open):
            raise self._error("duplicate_client_order_id")
        return client_order_id

    def _new_order(self, api_key: str, request: OrderRequest, client_id: str) -> OrderState:
        now = self._host.clock_ms
        order_id = str(self._next_order_id)
        self._next_order_id += 1
        self._sequence += 1
        market = self.markets[request.symbol]
        limit_ticks = None
        if request.price is not None:
            limit_ticks = int(request.price / market.tick)
        order = OrderState(
            order_id=order_id,
            client_order_id=client_id,
            api_key=api_key,
            symbol=request.symbol,
            side=request.side,
            type=request.type,
            price=request.price,
            limit_ticks=limit_ticks,
            quantity=request.quantity,
            quote_quantity=request.quote_quantity,
            time_in_force=request.time_in_force,
            post_only=request.post_only,
            reduce_only=request.reduce_only,
            created_ms=now,
            updated_ms=now,
            sequence=self._sequence,
            exchange=self.name,
        )
        self._orders[order_id] = order
        self._orders_by_key.setdefault(api_key, []).append(order)
        if client_id:
            self._by_client.setdefault((api_key, client_id), []).append(order)
        return order

    def _execute(
        self,
        account: Account,
        market: SimMarket,
        book: SymbolBook,
        request: OrderRequest,
        client_id: str,
    ) -> OrderState:
        side = request.side
        limit_ticks = None if request.price is None else int(request.price / market.tick)
        marketable = request.type == "market" or (
            limit_ticks is not None
            and (
                (side == "buy" and limit_ticks >= book.price_ticks)
                or (side == "sell" and limit_ticks <= book.price_ticks)
            )
        )
        linear = market.market_type == "linear"
        position = account.position_quantity(market.symbol)
        if (
            request.reduce_only
            and linear
            and (position == ZERO or (position > 0) == (side == "buy"))
        ):
            raise self._error("reduce_only_rejected")
        if request.post_only and marketable:
            if self.spec.quirks.post_only_cross == "reject":
                raise self._error("post_only_would_take")
            order = self._new_order(account.api_key, request, client_id)
            order.status = SimOrderStatus.CANCELED
            order.reject_reason = _POST_ONLY_CANCEL_REASON
            return order
        plan: list[TakerFill] = []
        if marketable:
            plan = plan_taker_fills(
                market,
                self.slippage or self._host.slippage,
                book.price_ticks,
                side,
                quantity=request.quantity,
                quote_quantity=request.quote_quantity,
                limit_ticks=limit_ticks,
            )
        lock_asset, lock_amount, lock_per_unit = self._reserve(
            account, market, request, plan, position
        )
        order = self._new_order(account.api_key, request, client_id)
        if lock_amount > ZERO:
            account.lock(lock_asset, lock_amount)
            order.lock_asset, order.locked, order.lock_per_unit = (
                lock_asset,
                lock_amount,
                lock_per_unit,
            )
        for fill in plan:
            self._fill(order, book, fill.quantity, fill.price_ticks, is_maker=False)
        if order.type == "market" and order.quantity is None:
            order.quantity = order.filled  # quote-sized: the executed base quantity
            if order.filled > ZERO:
                order.status = SimOrderStatus.FILLED
        if order.status.is_open and (order.remaining > ZERO or order.filled == ZERO):
            if request.type == "limit" and request.time_in_force == "GTC":
                book.add(order)
            else:
                self._finish(order, SimOrderStatus.EXPIRED)
        return order

    def _reserve(
        self,
        account: Account,
        market: SimMarket,
        request: OrderRequest,
        plan: list[TakerFill],
        position: Decimal,
    ) -> tuple[str, Decimal, Decimal | None]:
        """Check the balance the order needs; return what to lock (asset, amount, per unit)."""
        tick = market.tick
        planned_quantity = sum((f.quantity for f in plan), ZERO)
        planned_cost = sum((f.quantity * tick * f.price_ticks for f in plan), ZERO)
        if market.market_type == "linear":
            closable = (
                abs(position)
                if position != ZERO and (position > 0) != (request.side == "buy")
                else ZERO
            )
            if request.type == "market":
                average = planned_cost / planned_quantity if planned_quantity else ZERO
                opening = max(ZERO, planned_quantity - closable)
                needed = opening * average * (1 + market.taker_fee)
                self._require(account.free(market.quote) >= needed)
                return market.quote, ZERO, None
            assert request.quantity is not None and request.price is not None
            opening = max(ZERO, request.quantity - closable)
            amount = opening * request.price * (1 + market.taker_fee)
            self._require(account.free(market.quote) >= amount)
            return market.quote, amount, None
        if request.side == "buy":
            if request.type == "market":
                needed = request.quote_quantity if request.quote_quantity else planned_cost
                self._require(account.free(market.quote) >= needed)
                return market.quote, ZERO, None
            assert request.quantity is not None and request.price is not None
            amount = request.quantity * request.price
            self._require(account.free(market.quote) >= amount)
            return market.quote, amount, request.price
        if request.type == "market":
            self._require(account.free(market.base) >= planned_quantity)
            return market.base, ZERO, None
        assert request.quantity is not None
        self._require(account.free(market.base) >= request.quantity)
        return market.base, request.quantity, Decimal(1)

    def _require(self, enough: bool) -> None:
        if not enough:
            raise self._error("insufficient_balance")

    def _finish(self, order: OrderState, status: SimOrderStatus) -> None:
        """Close an order that will not fill further and free what it still holds."""
        if order.locked > ZERO:
            self.accounts[order.api_key].unlock(order.lock_asset, order.locked)
            order.locked = ZERO
        order.status = status
        order.updated_ms = self._host.clock_ms
        self.books[order.symbol].remove(order)

    def _fill(
        self,
        order: OrderState,
        book: SymbolBook,
        quantity: Decimal,
        price_ticks: int,
        *,
        is_maker: bool,
    ) -> SimTrade:
        market = book.market
        account = self.accounts[order.api_key]
        price = market.tick * price_ticks
        released = order.release_for(quantity) if order.quantity is not None else order.locked
        order.locked -= released
        rate = market.maker_fee if is_maker else market.taker_fee
        try:
            settlement = account.settle(market, order.side, quantity, price, rate, released)
        except InsufficientFunds:  # pragma: no cover - settle does not lock
            raise self._error("insufficient_balance") from None
        now = self._host.clock_ms
        trade = SimTrade(
            trade_id=str(self._next_trade_id),
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            quote_quantity=quantity * price,
            fee=settlement.fee,
            fee_asset=settlement.fee_asset,
            is_maker=is_maker,
            time_ms=now,
        )
        self._next_trade_id += 1
        order.filled += quantity
        order.cumulative_quote += trade.quote_quantity
        order.fills.append(trade)
        order.updated_ms = now
        self._trades_by_key.setdefault(order.api_key, []).append(trade)
        book.tape.append((now, quantity, trade.quote_quantity))
        complete = order.quantity is not None and order.filled >= order.quantity
        order.status = SimOrderStatus.FILLED if complete else SimOrderStatus.PARTIALLY_FILLED
        if complete:
            if order.locked > ZERO:
                account.unlock(order.lock_asset, order.locked)
                order.locked = ZERO
            book.remove(order)
        return trade

    # -- price moves (called by the simulator) ------------------------------------------------

    def on_price(self, symbol: str, price_ticks: int, *, manual: bool) -> list[SimEvent]:
        """The price of ``symbol`` is now ``price_ticks``: fill every resting order it crosses."""
        book = self.books[symbol]
        now = self._host.clock_ms
        book.price_ticks = price_ticks
        book.price_ms = now
        if manual:
            book.history.append((now, price_ticks))
        if not book.would_cross(price_ticks):
            return []
        capacity = self.liquidity_per_tick or self._host.liquidity_per_tick
        left = {"buy": capacity, "sell": capacity}
        step = book.market.step_size
        events = []
        for order in book.crossing(price_ticks):
            quantity = order.remaining
            if order.reduce_only and book.market.market_type == "linear":
                held = abs(self.accounts[order.api_key].position_quantity(symbol))
                if held == ZERO:
                    self._finish(order, SimOrderStatus.CANCELED)
                    events.append(self._event("status", order, None))
                    continue
                quantity = min(quantity, held)
            cap = left[order.side]
            if cap is not None:
                quantity = min(quantity, (cap // step) * step)
                if quantity <= ZERO:
                    continue
                left[order.side] = cap - quantity
            assert order.limit_ticks is not None
            trade = self._fill(order, book, quantity, order.limit_ticks, is_maker=True)
            events.append(self._event("fill", order, trade))
            if order.reduce_only and order.status.is_open:
                held = abs(self.accounts[order.api_key].position_quantity(symbol))
                if held == ZERO:
                    self._finish(order, SimOrderStatus.CANCELED)
                    events.append(self._event("status", order, None))
        return events

    def _event(self, kind: str, order: OrderState, trade: SimTrade | None) -> SimEvent:
        return SimEvent(
            kind=kind,
            time_ms=self._host.clock_ms,
            exchange=self.name,
            api_key=order.api_key,
            symbol=order.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            status=order.status,
            trade=trade,
        )

    def resting_thresholds(self, symbol: str) -> tuple[int | None, int | None]:
        book = self.books[symbol]
        return book.best_buy(), book.best_sell()

    # -- order queries ------------------------------------------------------------------------

    def _find(
        self,
        api_key: str,
        symbol: str,
        order_id: str | None,
        client_order_id: str | None,
        reason: str,
    ) -> OrderState:
        if order_id is None and not client_order_id:
            raise self._error("missing_parameter", "order_id")
        order: OrderState | None = None
        if order_id is not None:
            order = self._orders.get(str(order_id))
            if order is not None and client_order_id and order.client_order_id != client_order_id:
                order = None
        else:
            candidates = self._by_client.get((api_key, str(client_order_id)), [])
            order = candidates[-1] if candidates else None
        if order is None or order.api_key != api_key or order.symbol != symbol:
            raise self._error(reason)
        return order

    def cancel_order(
        self,
        api_key: str,
        *,
        symbol: str,
        order_id: str | None = None,
        client_order_id: str | None = None,
    ) -> SimOrder:
        with self._request("order.cancel", symbol) as effects:
            self.account(api_key)
            market = self.market(symbol)
            order = self._find(api_key, market.symbol, order_id, client_order_id, "unknown_order")
            if not order.status.is_open:
                raise self._error("unknown_order")
            self._finish(order, SimOrderStatus.CANCELED)
            self._host.record(
                {
                    "time_ms": self._host.clock_ms,
                    "kind": "cancel",
                    "exchange": self.name,
                    "order_id": order.order_id,
                    "client_order_id": order.client_order_id,
                    "symbol": order.symbol,
                }
            )
            snapshot = order.snapshot()
            self._lost(effects, snapshot)
            return snapshot

    def get_order(
        self,
        api_key: str,
        *,
        symbol: str,
        order_id: str | None = None,
        client_order_id: str | None = None,
    ) -> SimOrder:
        with self._request("order.get", symbol):
            self.account(api_key)
            market = self.market(symbol)
            reason = "order_not_found"
            return self._find(api_key, market.symbol, order_id, client_order_id, reason).snapshot()

    def open_orders(self, api_key: str, symbol: str | None = None) -> list[SimOrder]:
        """Open orders, oldest first. Every open order rests in a book, so this costs the
        number of resting orders, not the order history."""
        with self._request("orders.open", symbol):
            self.account(api_key)
            books = [self.books[self.market(symbol).symbol]] if symbol else self.books.values()
            resting = [o for b in books for o in (*b.buys, *b.sells) if o.api_key == api_key]
            return [o.snapshot() for o in sorted(resting, key=lambda o: o.sequence)]

    def all_orders(self, api_key: str, symbol: str | None = None) -> list[SimOrder]:
        with self._request("orders.all", symbol):
            self.account(api_key)
            wanted = self.market(symbol).symbol if symbol is not None else None
            return [
                o.snapshot()
                for o in self._orders_by_key.get(api_key, [])
                if wanted is None or o.symbol == wanted
            ]

    def trades(
        self,
        api_key: str,
        symbol: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
    ) -> list[SimTrade]:
        """The account's trades, oldest first; with ``limit``, the first ``limit`` from
        ``start_ms`` or else the most recent ``limit``."""
        with self._request("trades", symbol):
            self.account(api_key)
            wanted = self.market(symbol).symbol if symbol is not None else None
            if limit is not None and limit <= 0:
                raise self._error("invalid_parameter", "limit")
            rows = [
                trade
                for trade in self._trades_by_key.get(api_key, [])
                if (wanted is None or trade.symbol == wanted)
                and (start_ms is None or trade.time_ms >= start_ms)
                and (end_ms is None or trade.time_ms <= end_ms)
            ]
            if limit is not None:
                rows = rows[:limit] if start_ms is not None else rows[-limit:]
            return rows

    def all_open_orders(self) -> list[SimOrder]:
        """Every open order of every account (admin view; no fault check)."""
        with self._host.lock:
            return [o.snapshot() for o in self._orders.values() if o.status.is_open]

    def orders_snapshot(self) -> list[SimOrder]:
        """Every order of every account (admin view; no fault check)."""
        with self._host.lock:
            return [o.snapshot() for o in self._orders.values()]
