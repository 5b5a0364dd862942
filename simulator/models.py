"""Value objects the in-process API returns: orders, trades, events, balances, klines.

All returned objects are immutable snapshots, safe to read after the simulator lock is
released. Statuses are exchange-neutral; the REST faces map them to each exchange's names.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from engine.domain import ZERO

__all__ = [
    "SimOrderStatus",
    "SimTrade",
    "SimOrder",
    "SimEvent",
    "Balance",
    "Position",
    "Kline",
    "Ticker",
    "BookLevel",
]


class SimOrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"  # IOC / market remainder that could not fill (Binance EXPIRED)

    @property
    def is_open(self) -> bool:
        return self in (SimOrderStatus.NEW, SimOrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class SimTrade:
    """One fill. ``fee_asset`` is the base asset for spot buys and the quote asset for spot
    sells and for every linear fill."""

    trade_id: str
    order_id: str
    client_order_id: str
    symbol: str
    side: str  # "buy" | "sell"
    price: Decimal
    quantity: Decimal
    quote_quantity: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    time_ms: int


@dataclass(frozen=True, slots=True)
class SimOrder:
    order_id: str
    client_order_id: str
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # "limit" | "market"
    price: Decimal | None
    quantity: Decimal | None  # None for market orders sized by quote amount
    quote_quantity: Decimal | None
    filled_quantity: Decimal
    cumulative_quote: Decimal
    status: SimOrderStatus
    time_in_force: str  # "GTC" | "IOC"
    post_only: bool
    created_ms: int
    updated_ms: int
    fills: tuple[SimTrade, ...] = ()
    reduce_only: bool = False
    reject_reason: str = ""
    exchange: str = ""

    @property
    def average_price(self) -> Decimal | None:
        if self.filled_quantity == ZERO:
            return None
        return self.cumulative_quote / self.filled_quantity

    @property
    def remaining_quantity(self) -> Decimal | None:
        if self.quantity is None:
            return None
        return self.quantity - self.filled_quantity

    @property
    def fee_total(self) -> Decimal:
        return sum((fill.fee for fill in self.fills), ZERO)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """Something that happened to an order: ``kind`` is ``"fill"`` (with ``trade``) or
    ``"status"`` (the order's new ``status``, e.g. cancelled by the venue)."""

    kind: str
    time_ms: int
    exchange: str
    api_key: str
    symbol: str
    order_id: str
    client_order_id: str
    status: SimOrderStatus
    trade: SimTrade | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class Position:
    """A linear (perpetual, 1x) position: signed quantity (short < 0) and its margin."""

    symbol: str
    quantity: Decimal
    margin: Decimal  # quote held for the position (= |quantity| x average entry at 1x)
    realised_pnl: Decimal

    @property
    def entry_price(self) -> Decimal | None:
        if self.quantity == ZERO:
            return None
        return self.margin / abs(self.quantity)


@dataclass(frozen=True, slots=True)
class Kline:
    open_ms: int
    close_ms: int  # inclusive last millisecond of the interval
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base traded by the venue's accounts in the interval
    quote_volume: Decimal
    trades: int


@dataclass(frozen=True, slots=True)
class Ticker:
    symbol: str
    last: Decimal
    bid: Decimal
    ask: Decimal
    open_24h: Decimal
    high_24h: Decimal
    low_24h: Decimal
    volume_24h: Decimal
    quote_volume_24h: Decimal
    time_ms: int


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    quantity: Decimal
