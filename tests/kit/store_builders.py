"""Builders and fixtures for the store tests (memory, SQLite file, PostgreSQL).

Fixtures are imported by the test modules that use them:
``from tests.kit.store_builders import any_store, pg_url  # noqa: F401``.

PostgreSQL: ``QTRADE_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``);
each test session uses its own schema (created, then dropped). An unreachable server FAILS the
PostgreSQL tests unless ``QTRADE_SKIP_PG=1``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from engine.adapters.crypto import SecretCipher
from engine.adapters.memory_store import MemoryStore
from engine.adapters.sql_store import SqlStore
from engine.domain import (
    Category,
    GroupStatus,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    RiskAction,
    RiskWinnerClose,
    Severity,
)
from engine.store import (
    EventRecord,
    FillRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
    Store,
    UserRecord,
)

__all__ = [
    "D",
    "PG_DEFAULT_URL",
    "BACKENDS",
    "pg_url",
    "pg_schema",
    "any_store",
    "make_store",
    "cipher",
    "user",
    "signal",
    "group",
    "pyramid",
    "leg",
    "order",
    "fill",
    "queued",
    "event",
    "risk_action",
    "seed_position",
]

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = (
    pytest.param("memory", id="store=memory"),
    pytest.param("sqlite", id="store=sqlite"),
    pytest.param("postgres", id="store=postgres", marks=pytest.mark.postgres),
)
T0 = 1_770_000_000_000  # 2026-02-02T02:40:00Z, an arbitrary engine time


def D(text: str | int) -> Decimal:
    return Decimal(text)


# --------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL, after checking the server answers (fail, or skip on request)."""
    url = os.environ.get("QTRADE_TEST_PG_URL", PG_DEFAULT_URL)
    probe = create_engine(url)
    try:
        with probe.connect():
            pass
    except OperationalError as exc:
        if os.environ.get("QTRADE_SKIP_PG") == "1":
            pytest.skip(f"PostgreSQL unreachable and QTRADE_SKIP_PG=1: {exc.orig}")
        pytest.fail(f"PostgreSQL unreachable at {url} (set QTRADE_SKIP_PG=1 to skip): {exc.orig}")
    finally:
        probe.dispose()
    return url


@pytest.fixture(scope="session")
def pg_schema(pg_url: str) -> Iterator[str]:
    """A schema private to this test session (pytest-xdist workers get one each)."""
    name = f"qt_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield name
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


@pytest.fixture(scope="session")
def cipher() -> SecretCipher:
    return SecretCipher.generate()


@pytest.fixture(scope="session")
def _pg_store(pg_url: str, pg_schema: str, cipher: SecretCipher) -> Iterator[SqlStore]:
    store = SqlStore(pg_url, schema=pg_schema, cipher=cipher)
    yield store
    store.close()


def make_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, cipher: SecretCipher
) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SqlStore(f"sqlite:///{tmp_path / 'store.db'}", cipher=cipher)
    if kind == "sqlite_memory":
        return SqlStore("sqlite://", cipher=cipher)
    if kind == "postgres":
        store: SqlStore = request.getfixturevalue("_pg_store")
        store.reset()
        return store
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, cipher: SecretCipher
) -> Iterator[Store]:
    """The same test against every backend: memory, SQLite file, PostgreSQL."""
    store = make_store(request.param, request, tmp_path, cipher)
    yield store
    if request.param != "postgres":
        store.close()


# --------------------------------------------------------------------------------------
# records


def user(user_id: str = "u1", username: str | None = None, **over: Any) -> UserRecord:
    fields: dict[str, Any] = {
        "user_id": user_id,
        "username": username or f"name-{user_id}",
        "webhook_secret": f"whsec-{user_id}",
        "config": {"risk_config": {"max_open_positions_global": 3}},
        "created_at_ms": T0,
        "updated_at_ms": T0,
    }
    fields.update(over)
    return UserRecord(**fields)


def signal(signal_id: str = "s1", user_id: str = "u1", **over: Any) -> SignalRecord:
    fields: dict[str, Any] = {
        "signal_id": signal_id,
        "user_id": user_id,
        "received_at_ms": T0,
        "payload": {"tv": {"symbol": "BTCUSDT", "entry_price": "95992.3"}},
        "fingerprint": "fp-1",
        "outcome": "opened",
        "reason": None,
        "group_id": None,
        "queue_id": None,
    }
    fields.update(over)
    return SignalRecord(**fields)


def group(group_id: str = "g1", user_id: str = "u1", **over: Any) -> GroupRecord:
    fields: dict[str, Any] = {
        "group_id": group_id,
        "user_id": user_id,
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "timeframe": 60,
        "side": PositionSide.LONG,
        "status": GroupStatus.LIVE,
        "pyramid_count": 1,
        "average_entry": D("95992.30"),
        "open_quantity": D("0.00020"),
        "realised_pnl": D("0"),
        "unrealised_pnl": D("0"),
        "created_at_ms": T0,
        "updated_at_ms": T0,
        "closed_at_ms": None,
        "extra": {},
    }
    fields.update(over)
    return GroupRecord(**fields)


def pyramid(pyramid_id: str = "g1-p0", group_id: str = "g1", **over: Any) -> PyramidRecord:
    fields: dict[str, Any] = {
        "pyramid_id": pyramid_id,
        "group_id": group_id,
        "index": 0,
        "capital": D("95.9923"),
        "leg0_fill_price": D("95992.30"),
        "created_at_ms": T0,
    }
    fields.update(over)
    return PyramidRecord(**fields)


def leg(leg_id: str = "g1-p0-l0", pyramid_id: str = "g1-p0", **over: Any) -> LegRecord:
    fields: dict[str, Any] = {
        "leg_id": leg_id,
        "pyramid_id": pyramid_id,
        "index": 0,
        "side": OrderSide.BUY,
        "price": D("95992.30"),
        "quantity": D("0.00020"),
        "status": OrderStatus.FILLED,
        "filled_quantity": D("0.00020"),
        "average_fill_price": D("95992.30"),
        "tp_price": D("96952.22"),
        "closed_quantity": D("0"),
        "realised_pnl": D("0"),
        "fees": D("0.0000002"),
        "client_order_id": "g1-p0-l0-entry-0",
    }
    fields.update(over)
    return LegRecord(**fields)


def order(client_order_id: str = "g1-p0-l0-entry-0", **over: Any) -> OrderRecord:
    fields: dict[str, Any] = {
        "client_order_id": client_order_id,
        "exchange_order_id": "1001",
        "user_id": "u1",
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "side": OrderSide.BUY,
        "type": OrderType.MARKET,
        "purpose": OrderPurpose.ENTRY,
        "price": None,
        "quantity": D("0.00020"),
        "status": OrderStatus.FILLED,
        "filled_quantity": D("0.00020"),
        "average_price": D("95992.30"),
        "fees": D("0.0000002"),
        "group_id": "g1",
        "created_at_ms": T0,
        "updated_at_ms": T0,
        "reduce_only": False,
        "reason": None,
    }
    fields.update(over)
    return OrderRecord(**fields)


def fill(
    trade_id: str = "t1", client_order_id: str = "g1-p0-l0-entry-0", **over: Any
) -> FillRecord:
    fields: dict[str, Any] = {
        "trade_id": trade_id,
        "client_order_id": client_order_id,
        "quantity": D("0.00020"),
        "price": D("95992.30"),
        "fee": D("0.0000002"),
        "fee_asset": "BTC",
        "at_ms": T0,
    }
    fields.update(over)
    return FillRecord(**fields)


def queued(queue_id: str = "q1", user_id: str = "u1", **over: Any) -> QueuedSignalRecord:
    fields: dict[str, Any] = {
        "queue_id": queue_id,
        "user_id": user_id,
        "signal_id": "s9",
        "exchange": "binance",
        "symbol": "ETHUSDT",
        "timeframe": 60,
        "side": PositionSide.LONG,
        "entry_price": D("3150.5"),
        "order_size": D("0.05"),
        "size_type": "contracts",
        "reason": "pool_full",
        "status": "waiting",
        "replacement_count": 0,
        "queued_at_ms": T0,
        "updated_at_ms": T0,
        "payload": {"tv": {"symbol": "ETHUSDT"}},
    }
    fields.update(over)
    return QueuedSignalRecord(**fields)


def event(message: str = "m", **over: Any) -> EventRecord:
    fields: dict[str, Any] = {
        "category": Category.ORDER,
        "severity": Severity.INFO,
        "message": message,
        "at_ms": T0,
        "data": {},
        "user_id": "u1",
        "symbol": "BTCUSDT",
        "exchange": "binance",
    }
    fields.update(over)
    return EventRecord(**fields)


def risk_action(action_id: str = "r1", user_id: str = "u1", **over: Any) -> RiskAction:
    fields: dict[str, Any] = {
        "action_id": action_id,
        "user_id": user_id,
        "loser_group_id": "g1",
        "loser_loss_percent": D("-4.20"),
        "loser_loss_usd": D("-12.60"),
        "loser_close_quantity": D("0.0001"),
        "covered_usd": D("12.60"),
        "winners": (RiskWinnerClose("g2", D("0.05"), D("6.30")),),
        "net_usd": D("0.00"),
        "at_ms": T0,
    }
    fields.update(over)
    return RiskAction(**fields)


def seed_position(store: Store, user_id: str = "u1", group_id: str = "g1") -> None:
    """One user with one group, one pyramid, one leg, its order and one fill."""
    if store.get_user(user_id) is None:
        store.create_user(user(user_id))
    store.upsert_group(group(group_id, user_id))
    store.upsert_pyramid(pyramid(f"{group_id}-p0", group_id))
    store.upsert_leg(leg(f"{group_id}-p0-l0", f"{group_id}-p0"))
    cid = f"{group_id}-p0-l0-entry-0"
    store.upsert_order(order(cid, user_id=user_id, group_id=group_id))
    store.record_fill(fill("t1", cid))
