"""Order execution on one venue: reserving funds, taker fills on arrival, resting fills
when the price moves, and settlement of each fill against the account."""

from __future__ import annotations

from decimal import Decimal

from engine.domain import ZERO
from simulator.accounts import Account, InsufficientFunds
from simulator.markets import SimMarket
from simulator.matching import OrderState, SymbolBook, TakerFill, plan_taker_fills
from simulator.models import SimEvent, SimOrderStatus, SimTrade
from simulator.orders import OrderRequest
from simulator.venue_base import VenueBase

__all__ = ["OrderExecution"]

_POST_ONLY_CANCEL_REASON = "EC_PostOnlyWillTakeLiquidity"


class OrderExecution(VenueBase):
    """How orders fill and settle (see docs/simulator.md, "Matching rules")."""

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
            # with fees in quote, a buy also needs the fee: the taker rate for a market
            # order, the higher rate for a limit (it may fill as taker on arrival)
            fee_in_quote = self._host.spot_buy_fee_asset == "quote"
            if request.type == "market":
                needed = request.quote_quantity if request.quote_quantity else planned_cost
                if fee_in_quote:
                    needed = needed * (1 + market.taker_fee)
                self._require(account.free(market.quote) >= needed)
                return market.quote, ZERO, None
            assert request.quantity is not None and request.price is not None
            per_unit = request.price
            if fee_in_quote:
                per_unit = request.price * (1 + max(market.maker_fee, market.taker_fee))
            amount = request.quantity * per_unit
            self._require(account.free(market.quote) >= amount)
            return market.quote, amount, per_unit
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
            settlement = account.settle(
                market,
                order.side,
                quantity,
                price,
                rate,
                released,
                buy_fee_in_quote=self._host.spot_buy_fee_asset == "quote",
            )
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
