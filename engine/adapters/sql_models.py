"""SQLAlchemy 2 tables of the store (SPEC §11) and the two column types that keep values exact.

- :class:`ExactDecimal`: ``Decimal`` that round-trips exactly, value *and* scale. PostgreSQL
  gets an unconstrained ``NUMERIC`` (it keeps the scale it is given: ``0.00020`` stays
  ``0.00020``); SQLite, which has no decimal type and would turn ``NUMERIC`` into a float,
  gets the canonical string ``str(Decimal)``.
- :class:`UtcTimestamp`: engine time (UTC epoch milliseconds, ``int``) stored as a UTC
  timestamp (``timestamptz`` on PostgreSQL, naive UTC text on SQLite).

Only the store adapter and the Alembic migrations import this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.adapters.store_common import canonical_decimal

__all__ = [
    "ExactDecimal",
    "UtcTimestamp",
    "JsonDoc",
    "AutoId",
    "Base",
    "metadata",
    "UserRow",
    "ExchangeKeyRow",
    "SignalRow",
    "SignalFingerprintRow",
    "GroupRow",
    "PyramidRow",
    "LegRow",
    "OrderRow",
    "FillRow",
    "QueuedSignalRow",
    "RiskActionRow",
    "EventRow",
    "SnapshotRow",
    "ms_to_datetime",
    "datetime_to_ms",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def ms_to_datetime(at_ms: int) -> datetime:
    """UTC epoch milliseconds -> aware UTC datetime (exact: integer arithmetic only)."""
    return _EPOCH + timedelta(milliseconds=at_ms)


def datetime_to_ms(value: datetime) -> int:
    """Aware (or naive UTC) datetime -> UTC epoch milliseconds."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return (aware - _EPOCH) // _ONE_MS


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal column that returns exactly the Decimal it was given (see module doc)."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(80))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal expects a Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError(f"ExactDecimal cannot store a non-finite value: {value}")
        value = canonical_decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value))


class UtcTimestamp(TypeDecorator[int]):
    """Engine time (``int`` UTC epoch ms) stored as a UTC timestamp."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"UtcTimestamp expects epoch milliseconds (int), got {value!r}")
        moment = ms_to_datetime(value)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else datetime_to_ms(value)


JsonDoc = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


metadata = Base.metadata

_ID = 64  # length of engine-made ids


def _user_fk() -> ForeignKey:
    return ForeignKey("users.id", ondelete="CASCADE")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(256))
    config: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    created_at: Mapped[int] = mapped_column(UtcTimestamp)
    updated_at: Mapped[int] = mapped_column(UtcTimestamp)


class ExchangeKeyRow(Base):
    """API keys of one user on one exchange, Fernet-encrypted; only the mask in clear."""

    __tablename__ = "user_exchange_keys"

    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk(), primary_key=True)
    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    api_secret_encrypted: Mapped[str] = mapped_column(Text)
    api_key_masked: Mapped[str] = mapped_column(String(16))
    testnet: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[int] = mapped_column(UtcTimestamp)


class SignalRow(Base):
    __tablename__ = "signals"
    __table_args__ = (Index(None, "user_id", "fingerprint", "received_at"),)

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk())
    received_at: Mapped[int] = mapped_column(UtcTimestamp, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    fingerprint: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(_ID))
    queue_id: Mapped[str | None] = mapped_column(String(_ID))


class SignalFingerprintRow(Base):
    """The last accepted claim of each (user, fingerprint): the atomic duplicate gate."""

    __tablename__ = "signal_fingerprints"

    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk(), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128), primary_key=True)
    signal_id: Mapped[str] = mapped_column(String(_ID))
    claimed_at: Mapped[int] = mapped_column(UtcTimestamp, index=True)


class GroupRow(Base):
    __tablename__ = "position_groups"
    __table_args__ = (Index(None, "user_id", "status"),)

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk())
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    pyramid_count: Mapped[int] = mapped_column(Integer)
    average_entry: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    open_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    realised_pnl: Mapped[Decimal] = mapped_column(ExactDecimal)
    unrealised_pnl: Mapped[Decimal] = mapped_column(ExactDecimal)
    created_at: Mapped[int] = mapped_column(UtcTimestamp)
    updated_at: Mapped[int] = mapped_column(UtcTimestamp)
    closed_at: Mapped[int | None] = mapped_column(UtcTimestamp)
    extra: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class PyramidRow(Base):
    __tablename__ = "pyramids"
    __table_args__ = (UniqueConstraint("group_id", "index"),)

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("position_groups.id", ondelete="CASCADE")
    )
    index: Mapped[int] = mapped_column(Integer)
    capital: Mapped[Decimal] = mapped_column(ExactDecimal)
    leg0_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    created_at: Mapped[int] = mapped_column(UtcTimestamp)


class LegRow(Base):
    __tablename__ = "dca_legs"
    __table_args__ = (UniqueConstraint("pyramid_id", "index"),)

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    pyramid_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("pyramids.id", ondelete="CASCADE")
    )
    index: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(8))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    average_fill_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    tp_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    closed_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    realised_pnl: Mapped[Decimal] = mapped_column(ExactDecimal)
    fees: Mapped[Decimal] = mapped_column(ExactDecimal)
    client_order_id: Mapped[str | None] = mapped_column(String(_ID))


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (Index(None, "user_id", "status"),)

    client_order_id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk())
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    average_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    fees: Mapped[Decimal] = mapped_column(ExactDecimal)
    group_id: Mapped[str | None] = mapped_column(
        String(_ID), ForeignKey("position_groups.id", ondelete="CASCADE"), index=True
    )
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(UtcTimestamp)
    updated_at: Mapped[int] = mapped_column(UtcTimestamp)


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("client_order_id", "trade_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(
        String(_ID), ForeignKey("orders.client_order_id", ondelete="CASCADE")
    )
    trade_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    fee: Mapped[Decimal] = mapped_column(ExactDecimal)
    fee_asset: Mapped[str] = mapped_column(String(32))
    at: Mapped[int] = mapped_column(UtcTimestamp)


class QueuedSignalRow(Base):
    __tablename__ = "queued_signals"
    __table_args__ = (Index(None, "user_id", "status"),)

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk())
    signal_id: Mapped[str] = mapped_column(String(_ID))
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(8))
    entry_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    order_size: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    size_type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    replacement_count: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[int] = mapped_column(UtcTimestamp)
    updated_at: Mapped[int] = mapped_column(UtcTimestamp)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class RiskActionRow(Base):
    __tablename__ = "risk_actions"

    id: Mapped[str] = mapped_column(String(_ID), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(_ID), _user_fk(), index=True)
    loser_group_id: Mapped[str] = mapped_column(String(_ID))
    loser_loss_percent: Mapped[Decimal] = mapped_column(ExactDecimal)
    loser_loss_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    loser_close_quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    covered_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    winners: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc)
    net_usd: Mapped[Decimal] = mapped_column(ExactDecimal)
    at: Mapped[int] = mapped_column(UtcTimestamp)


class EventRow(Base):
    """Append-only audit log; no foreign keys, so it outlives users and positions."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "category", "at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(UtcTimestamp, index=True)
    category: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    user_id: Mapped[str | None] = mapped_column(String(_ID), index=True)
    symbol: Mapped[str | None] = mapped_column(String(64), index=True)
    exchange: Mapped[str | None] = mapped_column(String(32))


class SnapshotRow(Base):
    __tablename__ = "engine_snapshots"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(UtcTimestamp)
    data: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
