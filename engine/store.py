"""The Store port: what the service persists, as plain dataclasses (SPEC §11).

Adapters (``engine.adapters.sql_store.SqlStore``, ``engine.adapters.memory_store.MemoryStore``)
implement :class:`Store`; nothing outside them sees an ORM object. Every write runs in its own
transaction that is committed before the method returns, so a caller that persists a state
change and then talks to an exchange never acts on an uncommitted change.

Times are UTC epoch milliseconds (``*_ms``); money and quantities are ``Decimal``; JSON payloads
(``config``, ``payload``, ``data``, ``extra``) are stored as JSON, with ``Decimal`` values
written as strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from engine.domain import (
    Category,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    RiskAction,
    Severity,
)

__all__ = [
    "OutcomeUpdate",
    "EXPORT_KINDS",
    "ExportKind",
    "StoreError",
    "StoreConflict",
    "StoreNotFound",
    "StoreIntegrityError",
    "UserRecord",
    "ExchangeCredentials",
    "MaskedCredentials",
    "SignalRecord",
    "GroupRecord",
    "PyramidRecord",
    "LegRecord",
    "OrderRecord",
    "FillRecord",
    "QueuedSignalRecord",
    "EventRecord",
    "EventQuery",
    "SnapshotRecord",
    "StoreBatch",
    "Store",
]

ExportKind = Literal["positions", "users", "signals", "orders", "events", "queue", "risk"]
EXPORT_KINDS: tuple[ExportKind, ...] = (
    "positions",
    "users",
    "signals",
    "orders",
    "events",
    "queue",
    "risk",
)


class StoreError(Exception):
    """Base class of store failures. ``field`` names the offending input, ``reason`` is a
    stable code (``duplicate_username``, ``unknown_user``, ``missing_parent``...)."""

    def __init__(self, message: str, *, field: str = "", reason: str = "store_error") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


class StoreConflict(StoreError):
    """A unique key is already taken (user id, username)."""


class StoreNotFound(StoreError):
    """The record to update does not exist."""


class StoreIntegrityError(StoreError):
    """A record refers to a parent that does not exist, or a value is not storable."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: str
    username: str
    webhook_secret: str
    config: dict[str, Any]
    created_at_ms: int
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class ExchangeCredentials:
    """Plain API keys of one user on one exchange; encrypted by the store at rest."""

    exchange: str
    api_key: str
    api_secret: str = field(repr=False)
    testnet: bool = False

    def __repr__(self) -> str:  # never print the key itself
        return f"ExchangeCredentials(exchange={self.exchange!r}, testnet={self.testnet})"


@dataclass(frozen=True, slots=True)
class MaskedCredentials:
    """What may be shown about stored keys: ``****A4B1`` (the last four characters)."""

    exchange: str
    api_key_masked: str
    testnet: bool
    updated_at_ms: int


@dataclass(frozen=True, slots=True)
class SignalRecord:
    """One received signal with its outcome. ``payload`` never holds the webhook secret."""

    signal_id: str
    user_id: str
    received_at_ms: int
    payload: dict[str, Any]
    fingerprint: str
    outcome: str
    reason: str | None = None
    group_id: str | None = None
    queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    group_id: str
    user_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: PositionSide
    status: GroupStatus
    pyramid_count: int
    average_entry: Decimal | None
    open_quantity: Decimal
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    created_at_ms: int
    updated_at_ms: int
    closed_at_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PyramidRecord:
    pyramid_id: str
    group_id: str
    index: int
    capital: Decimal
    leg0_fill_price: Decimal | None
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class LegRecord:
    leg_id: str
    pyramid_id: str
    index: int
    side: OrderSide
    price: Decimal
    quantity: Decimal
    status: OrderStatus
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    tp_price: Decimal | None
    closed_quantity: Decimal
    realised_pnl: Decimal
    fees: Decimal
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """Every order sent to an exchange (entry, DCA, TP, exit, stop, risk, reduce)."""

    client_order_id: str
    exchange_order_id: str | None
    user_id: str
    exchange: str
    symbol: str
    side: OrderSide
    type: OrderType
    purpose: OrderPurpose
    price: Decimal | None
    quantity: Decimal
    status: OrderStatus
    filled_quantity: Decimal
    average_price: Decimal | None
    fees: Decimal
    group_id: str | None
    created_at_ms: int
    updated_at_ms: int
    reduce_only: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One trade of an order; ``(client_order_id, trade_id)`` is unique."""

    trade_id: str
    client_order_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class QueuedSignalRecord:
    """A signal waiting for a pool slot or a condition (SPEC §7).

    ``status``: ``waiting``, ``promoted``, ``removed`` or ``replaced``."""

    queue_id: str
    user_id: str
    signal_id: str
    exchange: str
    symbol: str
    timeframe: int
    side: PositionSide
    entry_price: Decimal | None
    order_size: Decimal | None
    size_type: str
    reason: str
    status: str
    replacement_count: int
    queued_at_ms: int
    updated_at_ms: int
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One line of the append-only audit log. ``event_id`` is assigned by the store."""

    category: Category
    severity: Severity
    message: str
    at_ms: int
    data: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    symbol: str | None = None
    exchange: str | None = None
    event_id: int | None = None


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for :meth:`Store.query_events`; ``None`` means "any". The time range is
    ``since_ms <= at_ms < until_ms``. Results are oldest first; when more than ``limit``
    match, the newest ``limit`` are returned."""

    category: Category | None = None
    severity: Severity | None = None
    symbol: str | None = None
    exchange: str | None = None
    user_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    at_ms: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutcomeUpdate:
    """A new outcome for a signal already stored (a queued signal replaced or promoted)."""

    signal_id: str
    outcome: str
    reason: str | None = None
    group_id: str | None = None
    queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoreBatch:
    """Several records written in ONE transaction (parents before children). Outcome
    updates come last; one naming a signal the store does not hold (fed by a runner, never
    through the webhook, so never stored) changes nothing."""

    groups: Sequence[GroupRecord] = ()
    pyramids: Sequence[PyramidRecord] = ()
    legs: Sequence[LegRecord] = ()
    orders: Sequence[OrderRecord] = ()
    fills: Sequence[FillRecord] = ()
    queued: Sequence[QueuedSignalRecord] = ()
    risk_actions: Sequence[RiskAction] = ()
    events: Sequence[EventRecord] = ()
    signals: Sequence[SignalRecord] = ()
    outcomes: Sequence[OutcomeUpdate] = ()


class Store(Protocol):
    """Persistence used by the service. Implementations behave identically."""

    # users -----------------------------------------------------------------------------
    def create_user(self, user: UserRecord) -> None:
        """Insert a user; :class:`StoreConflict` when the id or the username is taken."""
        ...

    def get_user(self, user_id: str) -> UserRecord | None: ...

    def get_user_by_username(self, username: str) -> UserRecord | None: ...

    def list_users(self) -> list[UserRecord]: ...

    def update_user(self, user: UserRecord) -> None:
        """Replace username, secret and config (:class:`StoreNotFound` when absent)."""
        ...

    def delete_user(self, user_id: str) -> bool:
        """Delete the user and everything they own; False when there was no such user."""
        ...

    def set_exchange_credentials(
        self, user_id: str, credentials: ExchangeCredentials, at_ms: int
    ) -> None: ...

    def get_exchange_credentials(
        self, user_id: str, exchange: str
    ) -> ExchangeCredentials | None: ...

    def list_exchange_credentials(self, user_id: str) -> list[MaskedCredentials]: ...

    # signals ---------------------------------------------------------------------------
    def record_signal(self, signal: SignalRecord) -> None:
        """Insert or replace a signal; a ``secret`` key is removed from the payload."""
        ...

    def update_signal_outcome(
        self,
        signal_id: str,
        outcome: str,
        reason: str | None,
        group_id: str | None,
        queue_id: str | None,
    ) -> None: ...

    def get_signal(self, signal_id: str) -> SignalRecord | None: ...

    def list_signals(
        self,
        user_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[SignalRecord]:
        """Oldest first, ``since_ms <= received_at_ms < until_ms``; with ``limit``, the
        newest ``limit`` of them."""
        ...

    def find_recent_signal_by_fingerprint(
        self, user_id: str, fingerprint: str, since_ms: int
    ) -> SignalRecord | None:
        """Newest signal of the user with that fingerprint, received at or after
        ``since_ms``, whose outcome is not ``duplicate``."""
        ...

    def claim_fingerprint(
        self, user_id: str, fingerprint: str, window_start_ms: int, signal_id: str, at_ms: int
    ) -> bool:
        """Atomically claim a fingerprint for ``signal_id`` at ``at_ms``.

        True when no claim for (user, fingerprint) exists at or after ``window_start_ms``
        (the caller's signal is not a duplicate and now owns the window); False otherwise.
        Exactly one of any number of concurrent identical claims wins, across processes
        sharing the database."""
        ...

    def prune_fingerprints(self, before_ms: int) -> int: ...

    # positions -------------------------------------------------------------------------
    def save_batch(self, batch: StoreBatch) -> None: ...

    def upsert_group(self, group: GroupRecord) -> None: ...

    def upsert_pyramid(self, pyramid: PyramidRecord) -> None: ...

    def upsert_leg(self, leg: LegRecord) -> None: ...

    def upsert_order(self, order: OrderRecord) -> None: ...

    def record_fill(self, fill: FillRecord) -> bool:
        """Store a fill once; False when ``(client_order_id, trade_id)`` was already known."""
        ...

    def get_group(self, group_id: str) -> GroupRecord | None: ...

    def list_groups(
        self, user_id: str | None = None, statuses: Sequence[GroupStatus] | None = None
    ) -> list[GroupRecord]: ...

    def list_pyramids(self, group_id: str) -> list[PyramidRecord]: ...

    def list_legs(self, pyramid_id: str) -> list[LegRecord]: ...

    def get_order(self, client_order_id: str) -> OrderRecord | None: ...

    def list_orders(
        self,
        user_id: str | None = None,
        group_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
    ) -> list[OrderRecord]: ...

    def list_fills(self, client_order_id: str | None = None) -> list[FillRecord]: ...

    def delete_user_positions(self, user_id: str) -> int:
        """Delete the user's groups (with pyramids, legs), orders, fills, queued signals and
        risk actions; signals and audit events stay. Returns the number of groups deleted."""
        ...

    # queue and risk ----------------------------------------------------------------------
    def upsert_queued_signal(self, queued: QueuedSignalRecord) -> None: ...

    def get_queued_signal(self, queue_id: str) -> QueuedSignalRecord | None: ...

    def list_queued_signals(
        self, user_id: str | None = None, status: str | None = None
    ) -> list[QueuedSignalRecord]: ...

    def record_risk_action(self, action: RiskAction) -> None: ...

    def list_risk_actions(self, user_id: str | None = None) -> list[RiskAction]: ...

    # audit -----------------------------------------------------------------------------
    def append_event(self, event: EventRecord) -> int:
        """Append one audit event and return its id (increasing)."""
        ...

    def query_events(self, query: EventQuery) -> list[EventRecord]: ...

    # engine snapshot, export, maintenance ------------------------------------------------
    def save_snapshot(self, data: dict[str, Any], at_ms: int) -> None: ...

    def load_snapshot(self) -> SnapshotRecord | None: ...

    def export_rows(self, kind: ExportKind) -> list[dict[str, Any]]:
        """JSON-ready rows (Decimals as strings) for ``scripts/export_data.py``."""
        ...

    def reset(self) -> None:
        """Delete every row of every table (the schema stays)."""
        ...

    def close(self) -> None: ...
