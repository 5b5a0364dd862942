"""Events the engine consumes (past tense). Every event carries the engine time ``at_ms``
(UTC epoch milliseconds) at which it happened; the engine never reads a clock itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.domain.market import MarketRules
from engine.domain.signal import Signal

__all__ = [
    "Event",
    "UserConfigured",
    "MarketRulesLoaded",
    "SignalReceived",
    "OrderAccepted",
    "OrderFilled",
    "OrderCancelled",
    "OrderRejected",
    "PriceMoved",
    "TimePassed",
    "ExchangeStateChanged",
    "ClosePositionRequested",
    "QueuePromoteRequested",
    "QueueForceAddRequested",
    "QueueRemoveRequested",
    "RiskControlRequested",
    "RiskRunRequested",
]


@dataclass(frozen=True, slots=True)
class UserConfigured:
    """A user was registered or their config changed (applied without restart)."""

    user_id: str
    config: Any  # engine.config.UserConfig (kept Any here to avoid a domain -> config import)
    at_ms: int


@dataclass(frozen=True, slots=True)
class MarketRulesLoaded:
    """The exchange's market metadata was (re)loaded. ``complete_listing`` says the list is
    the exchange's whole market list, so a symbol absent from it is unknown."""

    exchange: str
    rules: tuple[MarketRules, ...]
    at_ms: int
    complete_listing: bool = True


@dataclass(frozen=True, slots=True)
class SignalReceived:
    """A signal to handle. ``deduplicated``: the sender already decided it is not a duplicate
    (the service's intake claims the fingerprint in the store, across processes), so the
    engine neither checks nor keeps the fingerprint; runners without a store leave it False."""

    signal: Signal
    at_ms: int
    deduplicated: bool = False


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    client_order_id: str
    exchange_order_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """An incremental fill (one trade) of an order identified by its client order id."""

    client_order_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    at_ms: int
    trade_id: str = ""


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    client_order_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class OrderRejected:
    client_order_id: str
    reason: str  # the engine's reason code, e.g. "below_min_notional", "exchange_auth_failed"
    message: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class PriceMoved:
    exchange: str
    symbol: str
    price: Decimal
    at_ms: int


@dataclass(frozen=True, slots=True)
class TimePassed:
    at_ms: int


@dataclass(frozen=True, slots=True)
class ExchangeStateChanged:
    """Connection state of one exchange for one user changed (``ok``, ``auth_failed``...)."""

    user_id: str
    exchange: str
    state: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class ClosePositionRequested:
    group_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class QueuePromoteRequested:
    queue_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class QueueForceAddRequested:
    queue_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class QueueRemoveRequested:
    queue_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class RiskControlRequested:
    """Manual risk control on a group: ``block``, ``unblock`` or ``skip_once``."""

    group_id: str
    action: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class RiskRunRequested:
    at_ms: int
    user_id: str | None = None


Event = (
    UserConfigured
    | MarketRulesLoaded
    | SignalReceived
    | OrderAccepted
    | OrderFilled
    | OrderCancelled
    | OrderRejected
    | PriceMoved
    | TimePassed
    | ExchangeStateChanged
    | ClosePositionRequested
    | QueuePromoteRequested
    | QueueForceAddRequested
    | QueueRemoveRequested
    | RiskControlRequested
    | RiskRunRequested
)
