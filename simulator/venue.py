"""One simulated exchange (``binance``, ``bybit``...): accounts, markets, orders, fills.

Every public method takes the simulator lock, passes the request through the fault
schedule under its endpoint name, and returns immutable snapshots. Errors are
:class:`~simulator.errors.SimError` with the venue's own codes. State and plumbing live in
:mod:`simulator.venue_base`, order execution in :mod:`simulator.execution`.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt

from engine.domain import MarketRules
from simulator.execution import OrderExecution
from simulator.klines import build_klines, merge_history, window_stats
from simulator.markets import SimMarket
from simulator.matching import OrderState
from simulator.models import (
    Balance,
    BookLevel,
    Kline,
    Position,
    SimOrder,
    SimOrderStatus,
    SimTrade,
    Ticker,
)
from simulator.orders import OrderRequest, validate_order
from simulator.venue_base import VenueHost

__all__ = ["Venue", "VenueHost"]


class Venue(OrderExecution):
    """The in-process API of one exchange."""

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
