"""In-memory :class:`engine.store.Store` for fast runs (scenarios, backtests, unit tests).

It enforces the same keys, parent links and validation as the SQL store and returns copies,
so callers cannot change stored state by mutating what they read. Thread-safe (one lock).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from engine.adapters.crypto import mask_secret
from engine.adapters.memory_positions import Credentials, MemoryPositions, locked, newest
from engine.adapters.store_common import build_export_rows, json_doc, normalise
from engine.domain import RiskAction
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

__all__ = ["MemoryStore", "SNAPSHOTS_KEPT"]

SNAPSHOTS_KEPT = 3


class MemoryStore(MemoryPositions):
    """Dictionary-backed store with the behaviour of :class:`SqlStore`."""

    # -- users -----------------------------------------------------------------------------
    @locked
    def create_user(self, user: UserRecord) -> None:
        user = normalise(user)
        if user.user_id in self._users:
            raise StoreConflict(
                f"user id {user.user_id!r} exists", field="user_id", reason="duplicate_user_id"
            )
        self._check_username(user)
        self._users[user.user_id] = user

    def _check_username(self, user: UserRecord) -> None:
        for other in self._users.values():
            if other.username == user.username and other.user_id != user.user_id:
                raise StoreConflict(
                    f"username {user.username!r} is taken",
                    field="username",
                    reason="duplicate_username",
                )

    @locked
    def get_user(self, user_id: str) -> UserRecord | None:
        return self._users.get(user_id)

    @locked
    def get_user_by_username(self, username: str) -> UserRecord | None:
        return next((u for u in self._users.values() if u.username == username), None)

    @locked
    def list_users(self) -> list[UserRecord]:
        return sorted(self._users.values(), key=lambda u: (u.created_at_ms, u.user_id))

    @locked
    def update_user(self, user: UserRecord) -> None:
        user = normalise(user)
        old = self._users.get(user.user_id)
        if old is None:
            raise StoreNotFound(f"no user {user.user_id!r}", field="user_id", reason="unknown_user")
        self._check_username(user)
        self._users[user.user_id] = dataclasses.replace(user, created_at_ms=old.created_at_ms)

    @locked
    def delete_user(self, user_id: str) -> bool:
        if user_id not in self._users:
            return False
        self._delete_positions(user_id)
        self._keys = {k: v for k, v in self._keys.items() if k[0] != user_id}
        self._signals = {k: v for k, v in self._signals.items() if v.user_id != user_id}
        self._fingerprints = {k: v for k, v in self._fingerprints.items() if k[0] != user_id}
        del self._users[user_id]
        return True

    @locked
    def set_exchange_credentials(
        self, user_id: str, credentials: ExchangeCredentials, at_ms: int
    ) -> None:
        self._need_user(user_id, "user_id")
        if not credentials.exchange or not credentials.api_key or not credentials.api_secret:
            raise StoreIntegrityError(
                "exchange, api_key and api_secret must be non-empty",
                field="credentials",
                reason="empty_credentials",
            )
        exchange = credentials.exchange.lower()
        stored = dataclasses.replace(credentials, exchange=exchange)
        self._keys[(user_id, exchange)] = Credentials(stored, at_ms)

    @locked
    def get_exchange_credentials(self, user_id: str, exchange: str) -> ExchangeCredentials | None:
        found = self._keys.get((user_id, exchange.lower()))
        return None if found is None else found.credentials

    @locked
    def list_exchange_credentials(self, user_id: str) -> list[MaskedCredentials]:
        return [
            MaskedCredentials(
                exchange=c.credentials.exchange,
                api_key_masked=mask_secret(c.credentials.api_key),
                testnet=c.credentials.testnet,
                updated_at_ms=c.updated_at_ms,
            )
            for (uid, _), c in sorted(self._keys.items())
            if uid == user_id
        ]

    # -- signals ---------------------------------------------------------------------------
    def _put_signal(self, signal: SignalRecord) -> None:
        signal = normalise(signal)
        self._need_user(signal.user_id, "SignalRecord.user_id")
        self._signals[signal.signal_id] = signal

    @locked
    def record_signal(self, signal: SignalRecord) -> None:
        self._put_signal(signal)

    @locked
    def update_signal_outcome(
        self,
        signal_id: str,
        outcome: str,
        reason: str | None,
        group_id: str | None,
        queue_id: str | None,
    ) -> None:
        old = self._signals.get(signal_id)
        if old is None:
            raise StoreNotFound(
                f"no signal {signal_id!r}", field="signal_id", reason="unknown_signal"
            )
        self._signals[signal_id] = dataclasses.replace(
            old, outcome=outcome, reason=reason, group_id=group_id, queue_id=queue_id
        )

    @locked
    def get_signal(self, signal_id: str) -> SignalRecord | None:
        return self._signals.get(signal_id)

    @locked
    def list_signals(
        self,
        user_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[SignalRecord]:
        rows = [
            s
            for s in self._signals.values()
            if (user_id is None or s.user_id == user_id)
            and (since_ms is None or s.received_at_ms >= since_ms)
            and (until_ms is None or s.received_at_ms < until_ms)
        ]
        rows.sort(key=lambda s: (s.received_at_ms, s.signal_id))
        return newest(rows, limit)

    @locked
    def find_recent_signal_by_fingerprint(
        self, user_id: str, fingerprint: str, since_ms: int
    ) -> SignalRecord | None:
        rows = [
            s
            for s in self._signals.values()
            if s.user_id == user_id
            and s.fingerprint == fingerprint
            and s.received_at_ms >= since_ms
            and s.outcome != "duplicate"
        ]
        return max(rows, key=lambda s: (s.received_at_ms, s.signal_id), default=None)

    @locked
    def claim_fingerprint(
        self, user_id: str, fingerprint: str, window_start_ms: int, signal_id: str, at_ms: int
    ) -> bool:
        self._need_user(user_id, "user_id")
        key = (user_id, fingerprint)
        held = self._fingerprints.get(key)
        if held is not None and held[1] >= window_start_ms:
            return False
        self._fingerprints[key] = (signal_id, at_ms)
        return True

    @locked
    def prune_fingerprints(self, before_ms: int) -> int:
        stale = [k for k, (_, at) in self._fingerprints.items() if at < before_ms]
        for key in stale:
            del self._fingerprints[key]
        return len(stale)

    # -- positions -------------------------------------------------------------------------
    def _put_queued(self, queued: QueuedSignalRecord) -> None:
        queued = normalise(queued)
        self._need_user(queued.user_id, "QueuedSignalRecord.user_id")
        old = self._queued.get(queued.queue_id)
        if old is not None:
            queued = dataclasses.replace(queued, queued_at_ms=old.queued_at_ms)
        self._queued[queued.queue_id] = queued

    def _put_risk(self, action: RiskAction) -> None:
        action = normalise(action)
        self._need_user(action.user_id, "RiskAction.user_id")
        self._risk[action.action_id] = action

    def _put_event(self, event: EventRecord) -> int:
        event = normalise(event)
        event_id = self._next_event_id
        self._next_event_id += 1
        self._events.append(dataclasses.replace(event, event_id=event_id))
        return event_id

    @locked
    def save_batch(self, batch: StoreBatch) -> None:
        # All or nothing, like one SQL transaction: work on a copy, swap it in at the end.
        saved = {k: copy.copy(v) for k, v in vars(self).items() if k != "_lock"}
        try:
            for group in batch.groups:
                self._put_group(group)
            for pyramid in batch.pyramids:
                self._put_pyramid(pyramid)
            for leg in batch.legs:
                self._put_leg(leg)
            for order in batch.orders:
                self._put_order(order)
            for fill in batch.fills:
                self._put_fill(fill)
            for signal in batch.signals:
                self._put_signal(signal)
            for queued in batch.queued:
                self._put_queued(queued)
            for action in batch.risk_actions:
                self._put_risk(action)
            for event in batch.events:
                self._put_event(event)
            for change in batch.outcomes:
                old = self._signals.get(change.signal_id)
                if old is not None:
                    self._signals[change.signal_id] = dataclasses.replace(
                        old,
                        outcome=change.outcome,
                        reason=change.reason,
                        group_id=change.group_id,
                        queue_id=change.queue_id,
                    )
        except BaseException:
            vars(self).update(saved)
            raise

    @locked
    # -- queue and risk --------------------------------------------------------------------
    @locked
    def upsert_queued_signal(self, queued: QueuedSignalRecord) -> None:
        self._put_queued(queued)

    @locked
    def get_queued_signal(self, queue_id: str) -> QueuedSignalRecord | None:
        return self._queued.get(queue_id)

    @locked
    def list_queued_signals(
        self, user_id: str | None = None, status: str | None = None
    ) -> list[QueuedSignalRecord]:
        rows = [
            q
            for q in self._queued.values()
            if (user_id is None or q.user_id == user_id) and (status is None or q.status == status)
        ]
        return sorted(rows, key=lambda q: (q.queued_at_ms, q.queue_id))

    @locked
    def record_risk_action(self, action: RiskAction) -> None:
        self._put_risk(action)

    @locked
    def list_risk_actions(self, user_id: str | None = None) -> list[RiskAction]:
        rows = [a for a in self._risk.values() if user_id is None or a.user_id == user_id]
        return sorted(rows, key=lambda a: (a.at_ms, a.action_id))

    # -- audit -----------------------------------------------------------------------------
    @locked
    def append_event(self, event: EventRecord) -> int:
        return self._put_event(event)

    @locked
    def query_events(self, query: EventQuery) -> list[EventRecord]:
        rows = [
            e
            for e in self._events
            if (query.category is None or e.category == query.category)
            and (query.severity is None or e.severity == query.severity)
            and (query.symbol is None or e.symbol == query.symbol)
            and (query.exchange is None or e.exchange == query.exchange)
            and (query.user_id is None or e.user_id == query.user_id)
            and (query.since_ms is None or e.at_ms >= query.since_ms)
            and (query.until_ms is None or e.at_ms < query.until_ms)
        ]
        rows.sort(key=lambda e: (e.at_ms, e.event_id or 0))
        return newest(rows, query.limit)

    # -- snapshot, export, maintenance -----------------------------------------------------
    @locked
    def save_snapshot(self, data: dict[str, Any], at_ms: int) -> None:
        normalise(SnapshotRecord(at_ms=at_ms, data={}))
        self._snapshots.append(SnapshotRecord(at_ms, json_doc(data, "snapshot")))
        del self._snapshots[:-SNAPSHOTS_KEPT]

    @locked
    def load_snapshot(self) -> SnapshotRecord | None:
        return self._snapshots[-1] if self._snapshots else None

    def export_rows(self, kind: ExportKind) -> list[dict[str, Any]]:
        return build_export_rows(self, kind)

    @locked
    def reset(self) -> None:
        self._clear()

    def close(self) -> None:
        """Nothing to release."""
