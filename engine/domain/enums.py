"""Enumerations shared by the engine, its adapters and the simulator."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "PositionSide",
    "OrderSide",
    "OrderType",
    "OrderPurpose",
    "OrderStatus",
    "GroupStatus",
    "SignalType",
    "Outcome",
    "Reason",
    "MarketType",
    "Category",
    "Severity",
    "ConnectionState",
]


class PositionSide(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def entry_order_side(self) -> OrderSide:
        return OrderSide.BUY if self is PositionSide.LONG else OrderSide.SELL

    @property
    def exit_order_side(self) -> OrderSide:
        return OrderSide.SELL if self is PositionSide.LONG else OrderSide.BUY

    @property
    def sign(self) -> int:
        return 1 if self is PositionSide.LONG else -1


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class OrderPurpose(StrEnum):
    """Why the engine sends an order; part of the deterministic client order id."""

    ENTRY = "entry"  # leg 0 of a pyramid
    DCA = "dca"  # legs 1..n
    TAKE_PROFIT = "tp"  # per-leg take-profit
    AGGREGATE_TP = "atp"  # aggregate / pyramid-aggregate take-profit close
    EXIT = "exit"  # exit signal, manual close
    STOP = "stop"  # stop-loss close
    RISK = "risk"  # risk-engine offset close
    REDUCE = "reduce"  # reduce signal


class OrderStatus(StrEnum):
    PENDING = "pending"  # decided, not yet acknowledged by the exchange
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class GroupStatus(StrEnum):
    LIVE = "live"
    PARTIALLY_FILLED = "partially_filled"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"

    @property
    def holds_slot(self) -> bool:
        return self in (
            GroupStatus.LIVE,
            GroupStatus.PARTIALLY_FILLED,
            GroupStatus.ACTIVE,
            GroupStatus.CLOSING,
        )


class SignalType(StrEnum):
    SIGNAL = "signal"
    EXIT = "exit"
    REDUCE = "reduce"
    REVERSE = "reverse"


class Outcome(StrEnum):
    OPENED = "opened"
    PYRAMID = "pyramid"
    QUEUED = "queued"
    REPLACED = "replaced"
    EXITED = "exited"
    REDUCED = "reduced"
    REVERSED = "reversed"
    EXIT_REMOVED_QUEUED = "exit_removed_queued"
    EXIT_NOOP = "exit_noop"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Reason(StrEnum):
    """Reason codes attached to rejected or queued outcomes and to audit events."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    MAX_PYRAMIDS_REACHED = "max_pyramids_reached"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    BELOW_MIN_QTY = "below_min_qty"
    EXPOSURE_LIMIT = "exposure_limit"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    SHORT_NOT_SUPPORTED_ON_SPOT = "short_not_supported_on_spot"
    EXCHANGE_AUTH_FAILED = "exchange_auth_failed"
    EXCHANGE_UNAVAILABLE = "exchange_unavailable"
    EXCHANGE_NOT_CONFIGURED = "exchange_not_configured"
    NO_PRICE = "no_price"
    POOL_FULL = "pool_full"
    OPPOSITE_SIDE_OPEN = "opposite_side_open"
    PER_SYMBOL_LIMIT = "per_symbol_limit"
    PRECISION_MISSING = "precision_missing"
    SLIPPAGE_EXCEEDED = "slippage_exceeded"
    NOTHING_OPEN = "nothing_open"
    INVALID_SIGNAL = "invalid_signal"
    ORDER_REJECTED = "order_rejected"
    USER_NOT_CONFIGURED = "user_not_configured"
    GROUP_CLOSING = "group_closing"  # queued: the group of its key is closing


class MarketType(StrEnum):
    SPOT = "spot"
    LINEAR = "linear"


class Category(StrEnum):
    WEBHOOK = "webhook"
    ORDER = "order"
    PRECISION = "precision"
    RISK = "risk"
    QUEUE = "queue"
    SYSTEM = "system"
    ERROR = "error"


class Severity(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class ConnectionState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DISCONNECTED = "disconnected"
    AUTH_FAILED = "auth_failed"
