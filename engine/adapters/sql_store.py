"""SQLAlchemy 2 :class:`engine.store.Store` for SQLite (default) and PostgreSQL.

``SqlStore("sqlite:///var/qtrade.db")``, ``SqlStore("sqlite://")`` (in memory) or
``SqlStore("postgresql+psycopg://user@host/db")``. The schema is brought to Alembic ``head``
on start (see :mod:`engine.adapters.sql_engine`). Every public method is one transaction,
committed before it returns.

The duplicate gate :meth:`SqlStore.claim_fingerprint` is one statement,
``INSERT ... ON CONFLICT (user_id, fingerprint) DO UPDATE ... WHERE claimed_at < window_start
RETURNING``: PostgreSQL's row lock (a concurrent inserter waits for the first to commit, then
re-checks the WHERE on the committed row) or SQLite's database lock lets exactly one of many
concurrent identical claims win, in one process or several.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, delete, select, text, update
from sqlalchemy.dialects.postgresql import JSONB

from engine.adapters import sql_rows as rows
from engine.adapters.crypto import mask_secret
from engine.adapters.sql_base import DATA_DIR_ENV
from engine.adapters.sql_models import metadata
from engine.adapters.sql_positions import SqlPositions
from engine.adapters.store_common import build_export_rows, normalise, snapshot_text
from engine.domain import Category, RiskAction, Severity
from engine.store import (
    EventQuery,
    EventRecord,
    ExchangeCredentials,
    ExportKind,
    MaskedCredentials,
    QueuedSignalRecord,
    SignalRecord,
    SnapshotRecord,
    StoreBatch,
    StoreConflict,
    StoreIntegrityError,
    StoreNotFound,
    UserRecord,
)

__all__ = ["SqlStore", "SNAPSHOTS_KEPT", "DATA_DIR_ENV"]

SNAPSHOTS_KEPT = 3

_USERS = rows.table("users")
_KEYS = rows.table("user_exchange_keys")
_SIGNALS = rows.table("signals")
_FINGERPRINTS = rows.table("signal_fingerprints")
_GROUPS = rows.table("position_groups")
_PYRAMIDS = rows.table("pyramids")
_LEGS = rows.table("dca_legs")
_ORDERS = rows.table("orders")
_FILLS = rows.table("fills")
_QUEUED = rows.table("queued_signals")
_RISK = rows.table("risk_actions")
_EVENTS = rows.table("events")
_SNAPSHOTS = rows.table("engine_snapshots")


class SqlStore(SqlPositions):
    """The SQL store (see the module docstring); construct with a database URL."""

    # -- users -----------------------------------------------------------------------------
    def _check_username(self, conn: Connection, user: UserRecord) -> None:
        clash = conn.execute(
            select(_USERS.c.id).where(
                _USERS.c.username == user.username, _USERS.c.id != user.user_id
            )
        ).first()
        if clash is not None:
            raise StoreConflict(
                f"username {user.username!r} is taken",
                field="username",
                reason="duplicate_username",
            )

    def create_user(self, user: UserRecord) -> None:
        user = normalise(user)
        with self._write() as conn:
            if self._exists(conn, _USERS, "id", user.user_id):
                raise StoreConflict(
                    f"user id {user.user_id!r} exists", field="user_id", reason="duplicate_user_id"
                )
            self._check_username(conn, user)
            conn.execute(_USERS.insert().values(**rows.USERS.values(user)))

    def get_user(self, user_id: str) -> UserRecord | None:
        row = self._first(_USERS, "id", user_id)
        return None if row is None else rows.USERS.build(row)

    def get_user_by_username(self, username: str) -> UserRecord | None:
        row = self._first(_USERS, "username", username)
        return None if row is None else rows.USERS.build(row)

    def list_users(self) -> list[UserRecord]:
        with self._read() as conn:
            result = conn.execute(select(_USERS).order_by(_USERS.c.created_at, _USERS.c.id))
            return [rows.USERS.build(r) for r in result]

    def update_user(self, user: UserRecord) -> None:
        user = normalise(user)
        with self._write() as conn:
            if not self._exists(conn, _USERS, "id", user.user_id):
                raise StoreNotFound(
                    f"no user {user.user_id!r}", field="user_id", reason="unknown_user"
                )
            self._check_username(conn, user)
            values = rows.USERS.values(user)
            del values["created_at"]
            conn.execute(update(_USERS).where(_USERS.c.id == user.user_id).values(**values))

    def delete_user(self, user_id: str) -> bool:
        with self._write() as conn:
            if not self._exists(conn, _USERS, "id", user_id):
                return False
            self._delete_positions(conn, user_id)
            for table in (_KEYS, _FINGERPRINTS, _SIGNALS):
                conn.execute(delete(table).where(table.c.user_id == user_id))
            conn.execute(delete(_USERS).where(_USERS.c.id == user_id))
            return True

    def set_exchange_credentials(
        self, user_id: str, credentials: ExchangeCredentials, at_ms: int
    ) -> None:
        if not credentials.exchange or not credentials.api_key or not credentials.api_secret:
            raise StoreIntegrityError(
                "exchange, api_key and api_secret must be non-empty",
                field="credentials",
                reason="empty_credentials",
            )
        values = {
            "user_id": user_id,
            "exchange": credentials.exchange.lower(),
            "api_key_encrypted": self.cipher.encrypt(credentials.api_key),
            "api_secret_encrypted": self.cipher.encrypt(credentials.api_secret),
            "api_key_masked": mask_secret(credentials.api_key),
            "testnet": credentials.testnet,
            "updated_at": at_ms,
        }
        with self._write() as conn:
            self._need(conn, _USERS, "id", user_id, "user_id")
            self._upsert(conn, _KEYS, values, keys=("user_id", "exchange"))

    def get_exchange_credentials(self, user_id: str, exchange: str) -> ExchangeCredentials | None:
        with self._read() as conn:
            row = conn.execute(
                select(_KEYS).where(
                    _KEYS.c.user_id == user_id, _KEYS.c.exchange == exchange.lower()
                )
            ).first()
        if row is None:
            return None
        return ExchangeCredentials(
            exchange=row.exchange,
            api_key=self.cipher.decrypt(row.api_key_encrypted),
            api_secret=self.cipher.decrypt(row.api_secret_encrypted),
            testnet=row.testnet,
        )

    def list_exchange_credentials(self, user_id: str) -> list[MaskedCredentials]:
        query = select(_KEYS).where(_KEYS.c.user_id == user_id).order_by(_KEYS.c.exchange)
        with self._read() as conn:
            return [
                MaskedCredentials(r.exchange, r.api_key_masked, r.testnet, r.updated_at)
                for r in conn.execute(query)
            ]

    # -- signals ---------------------------------------------------------------------------
    def _put_signal(self, conn: Connection, signal: SignalRecord) -> None:
        signal = normalise(signal)
        self._need(conn, _USERS, "id", signal.user_id, "SignalRecord.user_id")
        self._upsert(conn, _SIGNALS, rows.SIGNALS.values(signal), keys=("id",))

    def record_signal(self, signal: SignalRecord) -> None:
        with self._write() as conn:
            self._put_signal(conn, signal)

    def update_signal_outcome(
        self,
        signal_id: str,
        outcome: str,
        reason: str | None,
        group_id: str | None,
        queue_id: str | None,
    ) -> None:
        with self._write() as conn:
            result = conn.execute(
                update(_SIGNALS)
                .where(_SIGNALS.c.id == signal_id)
                .values(outcome=outcome, reason=reason, group_id=group_id, queue_id=queue_id)
            )
            if result.rowcount == 0:
                raise StoreNotFound(
                    f"no signal {signal_id!r}", field="signal_id", reason="unknown_signal"
                )

    def get_signal(self, signal_id: str) -> SignalRecord | None:
        row = self._first(_SIGNALS, "id", signal_id)
        return None if row is None else rows.SIGNALS.build(row)

    def list_signals(
        self,
        user_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[SignalRecord]:
        t = _SIGNALS
        query = select(t).order_by(t.c.received_at.desc(), t.c.id.desc())
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if since_ms is not None:
            query = query.where(t.c.received_at >= since_ms)
        if until_ms is not None:
            query = query.where(t.c.received_at < until_ms)
        if limit is not None:
            query = query.limit(max(limit, 0))
        with self._read() as conn:
            found = [rows.SIGNALS.build(r) for r in conn.execute(query)]
        found.reverse()
        return found

    def find_recent_signal_by_fingerprint(
        self, user_id: str, fingerprint: str, since_ms: int
    ) -> SignalRecord | None:
        t = _SIGNALS
        query = (
            select(t)
            .where(
                t.c.user_id == user_id,
                t.c.fingerprint == fingerprint,
                t.c.received_at >= since_ms,
                t.c.outcome != "duplicate",
            )
            .order_by(t.c.received_at.desc(), t.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else rows.SIGNALS.build(row)

    def claim_fingerprint(
        self, user_id: str, fingerprint: str, window_start_ms: int, signal_id: str, at_ms: int
    ) -> bool:
        t = _FINGERPRINTS

        def build() -> Any:
            stmt = self.upsert_statement(
                t,
                ["user_id", "fingerprint", "signal_id", "claimed_at"],
                ["user_id", "fingerprint"],
                update=["signal_id", "claimed_at"],
                where="signal_fingerprints.claimed_at < :window_start",
                returning="signal_id",
            )
            return stmt.bindparams(bindparam("window_start", type_=t.c.claimed_at.type))

        stmt = self._statement(("claim",), build)
        params = {
            "user_id": user_id,
            "fingerprint": fingerprint,
            "signal_id": signal_id,
            "claimed_at": at_ms,
            "window_start": window_start_ms,
        }
        with self._write() as conn:
            self._need(conn, _USERS, "id", user_id, "user_id")
            return conn.execute(stmt, params).first() is not None

    def prune_fingerprints(self, before_ms: int) -> int:
        with self._write() as conn:
            result = conn.execute(
                delete(_FINGERPRINTS).where(_FINGERPRINTS.c.claimed_at < before_ms)
            )
            return int(result.rowcount)

    def _put_queued(self, conn: Connection, queued: QueuedSignalRecord) -> None:
        q = normalise(queued)
        self._need(conn, _USERS, "id", q.user_id, "QueuedSignalRecord.user_id")
        self._upsert(conn, _QUEUED, rows.QUEUED.values(q), keys=("id",), keep=("queued_at",))

    def _put_risk(self, conn: Connection, action: RiskAction) -> None:
        a = normalise(action)
        self._need(conn, _USERS, "id", a.user_id, "RiskAction.user_id")
        self._upsert(conn, _RISK, rows.RISK.values(a), keys=("id",))

    def _put_event(self, conn: Connection, event: EventRecord) -> int:
        e = normalise(event)
        key = conn.execute(_EVENTS.insert(), rows.EVENTS.values(e)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def save_batch(self, batch: StoreBatch) -> None:
        with self._write() as conn:
            for group in batch.groups:
                self._put_group(conn, group)
            for pyramid in batch.pyramids:
                self._put_pyramid(conn, pyramid)
            for leg in batch.legs:
                self._put_leg(conn, leg)
            for order in batch.orders:
                self._put_order(conn, order)
            for fill in batch.fills:
                self._put_fill(conn, fill)
            for signal in batch.signals:
                self._put_signal(conn, signal)
            for queued in batch.queued:
                self._put_queued(conn, queued)
            for action in batch.risk_actions:
                self._put_risk(conn, action)
            for audit in batch.events:
                self._put_event(conn, audit)
            for change in batch.outcomes:
                conn.execute(
                    update(_SIGNALS)
                    .where(_SIGNALS.c.id == change.signal_id)
                    .values(
                        outcome=change.outcome,
                        reason=change.reason,
                        group_id=change.group_id,
                        queue_id=change.queue_id,
                    )
                )

    # -- queue and risk --------------------------------------------------------------------
    def upsert_queued_signal(self, queued: QueuedSignalRecord) -> None:
        with self._write() as conn:
            self._put_queued(conn, queued)

    def get_queued_signal(self, queue_id: str) -> QueuedSignalRecord | None:
        row = self._first(_QUEUED, "id", queue_id)
        return None if row is None else rows.QUEUED.build(row)

    def list_queued_signals(
        self, user_id: str | None = None, status: str | None = None
    ) -> list[QueuedSignalRecord]:
        t = _QUEUED
        query = select(t).order_by(t.c.queued_at, t.c.id)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if status is not None:
            query = query.where(t.c.status == status)
        with self._read() as conn:
            return [rows.QUEUED.build(r) for r in conn.execute(query)]

    def record_risk_action(self, action: RiskAction) -> None:
        with self._write() as conn:
            self._put_risk(conn, action)

    def list_risk_actions(self, user_id: str | None = None) -> list[RiskAction]:
        t = _RISK
        query = select(t).order_by(t.c.at, t.c.id)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        with self._read() as conn:
            return [rows.RISK.build(r) for r in conn.execute(query)]

    # -- audit -----------------------------------------------------------------------------
    def append_event(self, event: EventRecord) -> int:
        with self._write() as conn:
            return self._put_event(conn, event)

    def query_events(self, query: EventQuery) -> list[EventRecord]:
        t = _EVENTS
        stmt = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(max(query.limit, 0))
        filters = {
            "category": None if query.category is None else Category(query.category).value,
            "severity": None if query.severity is None else Severity(query.severity).value,
            "symbol": query.symbol,
            "exchange": query.exchange,
            "user_id": query.user_id,
        }
        for column, value in filters.items():
            if value is not None:
                stmt = stmt.where(t.c[column] == value)
        if query.since_ms is not None:
            stmt = stmt.where(t.c.at >= query.since_ms)
        if query.until_ms is not None:
            stmt = stmt.where(t.c.at < query.until_ms)
        with self._read() as conn:
            found = [rows.EVENTS.build(r) for r in conn.execute(stmt)]
        found.reverse()
        return found

    # -- snapshot, export, maintenance -----------------------------------------------------
    def save_snapshot(self, data: dict[str, Any], at_ms: int) -> None:
        record = normalise(SnapshotRecord(at_ms=at_ms, data={}))
        encoded = snapshot_text(data, "snapshot")  # encoded once, stored as is
        t = _SNAPSHOTS
        with self._write() as conn:
            conn.execute(self._snapshot_insert(), {"at": record.at_ms, "data": encoded})
            newest = select(t.c.id).order_by(t.c.id.desc()).limit(SNAPSHOTS_KEPT).subquery()
            conn.execute(delete(t).where(t.c.id.not_in(select(newest.c.id))))

    def _snapshot_insert(self) -> Any:
        """``INSERT`` of a snapshot whose document is bound as already encoded JSON text
        (cast to JSONB on PostgreSQL); the column's JSON type still decodes it on load."""
        statement = self._statements.get(("snapshot_insert",))
        if statement is None:
            data: Any = bindparam("data", type_=Text())
            if self.dialect == "postgresql":
                data = cast(data, JSONB)
            statement = _SNAPSHOTS.insert().values(at=bindparam("at"), data=data)
            self._statements[("snapshot_insert",)] = statement
        return statement

    def load_snapshot(self) -> SnapshotRecord | None:
        t = _SNAPSHOTS
        with self._read() as conn:
            row = conn.execute(select(t).order_by(t.c.id.desc()).limit(1)).first()
        return None if row is None else SnapshotRecord(at_ms=row.at, data=row.data)

    def export_rows(self, kind: ExportKind) -> list[dict[str, Any]]:
        return build_export_rows(self, kind)

    def reset(self) -> None:
        with self._write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))

    def ping(self) -> bool:
        """True when the database answers (for ``/health``)."""
        with self._read() as conn:
            return bool(conn.execute(text("SELECT 1")).scalar_one() == 1)

    def close(self) -> None:
        self._engine.dispose()
