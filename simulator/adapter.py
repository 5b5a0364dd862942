"""The engine's exchange ports over the in-process simulator.

:class:`SimExchangeAdapter` implements ``engine.ports.SyncExchangePort`` (scenario and
backtest runners); :class:`AsyncSimExchangeAdapter` implements ``engine.ports.ExchangePort``.
Simulator errors are translated once, here, into ``engine.errors``:

==========================================  ==================================================
simulator                                   engine
==========================================  ==================================================
SimDown, SimTimeout (response lost)         TransientError (the outcome of a create may be
                                            unknown: look the order up by client id)
SimRateLimited                              RateLimited(retry_after_seconds)
SimAuthError (bad keys)                     AuthFailed
insufficient_balance                        InsufficientBalance
min_notional / min_qty                      OrderRejectedError(reason below_min_notional /
                                            below_min_qty)
lot_size / price_filter / max_qty           OrderRejectedError(reason filter_failure)
invalid_symbol                              OrderRejectedError(reason unknown_symbol)
unknown order (cancel)                      the order's final report if it exists (filled
                                            while cancelling), else NotFound
any other refusal                           OrderRejectedError(reason = the simulator reason)
==========================================  ==================================================
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from engine.domain import (
    CancelOrder,
    MarketRules,
    MarketType,
    OrderStatus,
    PlaceOrder,
    normalise_symbol,
)
from engine.errors import (
    AuthFailed,
    ExchangeFailure,
    InsufficientBalance,
    NotFound,
    OrderRejectedError,
    RateLimited,
    TransientError,
)
from engine.ports import FillReport, OrderReport
from simulator.errors import SimAuthError, SimDown, SimError, SimRateLimited, SimTimeout
from simulator.exchange import Simulator
from simulator.models import SimOrder, SimOrderStatus

__all__ = ["SimExchangeAdapter", "AsyncSimExchangeAdapter", "translate_error", "to_report"]

T = TypeVar("T")

_STATUS = {
    SimOrderStatus.NEW: OrderStatus.OPEN,
    SimOrderStatus.PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    SimOrderStatus.FILLED: OrderStatus.FILLED,
    SimOrderStatus.CANCELED: OrderStatus.CANCELLED,
    SimOrderStatus.EXPIRED: OrderStatus.CANCELLED,
    SimOrderStatus.REJECTED: OrderStatus.REJECTED,
}
_REASONS = {
    "min_notional": "below_min_notional",
    "min_qty": "below_min_qty",
    "lot_size": "filter_failure",
    "price_filter": "filter_failure",
    "max_qty": "filter_failure",
    "invalid_symbol": "unknown_symbol",
}


def translate_error(error: SimError) -> ExchangeFailure:
    """The engine's view of a simulator error."""
    text = f"{error.exchange} {error.code}: {error.message}"
    if isinstance(error, SimRateLimited):
        return RateLimited(text, retry_after_seconds=float(error.retry_after_s))
    if isinstance(error, (SimDown, SimTimeout)):
        return TransientError(text)
    if isinstance(error, SimAuthError):
        return AuthFailed(text)
    if error.reason == "insufficient_balance":
        return InsufficientBalance(text, code=error.code)
    return OrderRejectedError(
        text, reason=_REASONS.get(error.reason, error.reason or "order_rejected"), code=error.code
    )


def to_report(order: SimOrder) -> OrderReport:
    quantity = order.quantity if order.quantity is not None else order.filled_quantity
    return OrderReport(
        client_order_id=order.client_order_id,
        exchange_order_id=order.order_id,
        symbol=order.symbol,
        status=_STATUS[order.status],
        quantity=quantity,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        fills=tuple(
            FillReport(
                trade_id=fill.trade_id,
                quantity=fill.quantity,
                price=fill.price,
                fee=fill.fee,
                fee_asset=fill.fee_asset,
                at_ms=fill.time_ms,
            )
            for fill in order.fills
        ),
    )


class SimExchangeAdapter:
    """``SyncExchangePort`` for one account (``api_key``) on one simulated exchange."""

    def __init__(self, simulator: Simulator, exchange: str, api_key: str) -> None:
        self.simulator = simulator
        self.venue = simulator.venue(exchange)
        self.name = self.venue.name
        self.api_key = api_key

    @staticmethod
    def _call(action: Callable[[], T]) -> T:
        try:
            return action()
        except SimError as error:
            raise translate_error(error) from error

    def load_markets(self) -> list[MarketRules]:
        return self._call(self.venue.market_rules)

    def fetch_price(self, symbol: str) -> Decimal:
        return self._call(lambda: self.venue.ticker(normalise_symbol(symbol)).last)

    def place_order(self, command: PlaceOrder) -> OrderReport:
        symbol = normalise_symbol(command.symbol)
        market = self.venue.markets.get(symbol)
        linear = market is not None and market.market_type == MarketType.LINEAR
        order = self._call(
            lambda: self.venue.place_order(
                self.api_key,
                symbol=symbol,
                side=command.side.value,
                type=command.type.value,
                quantity=command.quantity,
                price=command.price,
                client_order_id=command.client_order_id,
                reduce_only=command.reduce_only and linear,
            )
        )
        return to_report(order)

    def cancel_order(self, command: CancelOrder) -> OrderReport:
        symbol = normalise_symbol(command.symbol)
        try:
            order = self.venue.cancel_order(
                self.api_key, symbol=symbol, client_order_id=command.client_order_id
            )
        except SimError as error:
            if error.reason != "unknown_order":
                raise translate_error(error) from error
            existing = self.fetch_order(symbol, command.client_order_id)
            if existing is None:
                raise NotFound(f"{self.name}: no order {command.client_order_id}") from error
            return existing
        return to_report(order)

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        try:
            order = self.venue.get_order(
                self.api_key, symbol=normalise_symbol(symbol), client_order_id=client_order_id
            )
        except SimError as error:
            if error.reason == "order_not_found":
                return None
            raise translate_error(error) from error
        return to_report(order)

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        wanted = normalise_symbol(symbol) if symbol is not None else None
        orders = self._call(lambda: self.venue.open_orders(self.api_key, wanted))
        return [to_report(order) for order in orders]


class AsyncSimExchangeAdapter:
    """``ExchangePort`` (async) over :class:`SimExchangeAdapter`; the simulator is in-process
    and never blocks on I/O, so each call runs inline."""

    def __init__(self, simulator: Simulator, exchange: str, api_key: str) -> None:
        self.sync = SimExchangeAdapter(simulator, exchange, api_key)
        self.name = self.sync.name

    async def load_markets(self) -> list[MarketRules]:
        return self.sync.load_markets()

    async def fetch_price(self, symbol: str) -> Decimal:
        return self.sync.fetch_price(symbol)

    async def place_order(self, command: PlaceOrder) -> OrderReport:
        return self.sync.place_order(command)

    async def cancel_order(self, command: CancelOrder) -> OrderReport:
        return self.sync.cancel_order(command)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        return self.sync.fetch_order(symbol, client_order_id)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        return self.sync.fetch_open_orders(symbol)
