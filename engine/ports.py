"""Ports: what the runners need from the outside world (clock, exchange, store).

The decision core (``engine.core``) uses none of these; runners and adapters do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from engine.domain import CancelOrder, MarketRules, OrderStatus, PlaceOrder

__all__ = [
    "Clock",
    "FillReport",
    "OrderReport",
    "ExchangePort",
    "SyncExchangePort",
    "PortNotice",
    "ReportsNotices",
    "ProbesAuth",
]


class Clock(Protocol):
    """Engine time source in UTC epoch milliseconds (real or simulated)."""

    def now_ms(self) -> int: ...


@dataclass(frozen=True, slots=True)
class FillReport:
    trade_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class OrderReport:
    """The exchange's view of one order, keyed by the engine's client order id."""

    client_order_id: str
    exchange_order_id: str
    symbol: str
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    average_price: Decimal | None
    fills: tuple[FillReport, ...] = field(default=())


class ExchangePort(Protocol):
    """Async exchange port used by the live service (ccxt adapter, simulator adapter)."""

    name: str

    async def load_markets(self) -> list[MarketRules]: ...

    async def fetch_price(self, symbol: str) -> Decimal: ...

    async def place_order(self, command: PlaceOrder) -> OrderReport: ...

    async def cancel_order(self, command: CancelOrder) -> OrderReport: ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...


@dataclass(frozen=True, slots=True)
class PortNotice:
    """A failure an adapter absorbed on its own (it retried and the call went on): the
    caller still wants to know, to raise an alert. ``kind`` is ``rate_limited`` or
    ``retried`` (any other transient failure)."""

    kind: str
    operation: str
    detail: str
    retry_after_seconds: float | None = None


@runtime_checkable
class ReportsNotices(Protocol):
    """An exchange adapter that retries by itself reports what it absorbed."""

    def drain_notices(self) -> list[PortNotice]: ...


@runtime_checkable
class ProbesAuth(Protocol):
    """An adapter that stops signed calls after refused keys offers one deliberate probe: a
    signed request made anyway; when the exchange accepts it the account is usable again."""

    async def probe_auth(self) -> None: ...


class SyncExchangePort(Protocol):
    """Synchronous twin of :class:`ExchangePort` for scenario and backtest runners."""

    name: str

    def load_markets(self) -> list[MarketRules]: ...

    def fetch_price(self, symbol: str) -> Decimal: ...

    def place_order(self, command: PlaceOrder) -> OrderReport: ...

    def cancel_order(self, command: CancelOrder) -> OrderReport: ...

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderReport | None: ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...
