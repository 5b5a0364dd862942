"""In-memory :class:`engine.store.Store` for fast runs (scenarios, backtests, unit tests).

It enforces the same keys, parent links and validation as the SQL store and returns copies,
so callers cannot change stored state by mutating what they read. Thread-safe (one lock).
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from engine.adapters.crypto import mask_secret
from engine.adapters.store_common import build_export_rows, json_doc, normalise
from engine.domain import GroupStatus, OrderStatus, RiskAction
from engine.store import (
    EventQuery,
    EventRecord,
    ExchangeCredentials,
    ExportKind,
    FillRecord,
    GroupRecord,
    LegRecord,
    MaskedCredentials,
    OrderRecord,
    PyramidRecord,
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
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    def wrapper(self: MemoryStore, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return copy.deepcopy(method(self, *args, **kwargs))

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper  # type: ignore[return-value]


def _newest(rows: list[T], limit: int | None) -> list[T]:
    if limit is None or len(rows) <= limit:
        return rows
    return rows[len(rows) - limit :] if limit > 0 else []


@dataclasses.dataclass(frozen=True, slots=True)
class _Credentials:
    credentials: ExchangeCredentials
    updated_at_ms: int


class MemoryStore:
    """Dictionary-backed store with the behaviour of :class:`SqlStore`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._next_event_id = 1
        self._clear()

    def _clear(self) -> None:
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[tuple[str, str], _Credentials] = {}
        self._signals: dict[str, SignalRecord] = {}
        self._fingerprints: dict[tuple[str, str], tuple[str, int]] = {}
        self._groups: dict[str, GroupRecord] = {}
        self._pyramids: dict[str, PyramidRecord] = {}
        self._legs: dict[str, LegRecord] = {}
        self._orders: dict[str, OrderRecord] = {}
        self._fills: dict[tuple[str, str], FillRecord] = {}
        self._queued: dict[str, QueuedSignalRecord] = {}
        self._risk: dict[str, RiskAction] = {}
        self._events: list[EventRecord] = []
        self._snapshots: list[SnapshotRecord] = []

    # -- guards ----------------------------------------------------------------------------
    def _need_user(self, user_id: str, where: str) -> None:
        if user_id not in self._users:
            raise StoreIntegrityError(
                f"{where}: unknown user {user_id!r}", field=where, reason="unknown_user"
            )

    @staticmethod
    def _need(parent: dict[str, Any], key: str, where: str) -> None:
        if key not in parent:
            raise StoreIntegrityError(
                f"{where}: no such parent {key!r}", field=where, reason="missing_parent"
            )

    # -- users -----------------------------------------------------------------------------
    @_locked
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

    @_locked
    def get_user(self, user_id: str) -> UserRecord | None:
        return self._users.get(user_id)

    @_locked
    def get_user_by_username(self, username: str) -> UserRecord | None:
        return next((u for u in self._users.values() if u.username == username), None)

    @_locked
    def list_users(self) -> list[UserRecord]:
        return sorted(self._users.values(), key=lambda u: (u.created_at_ms, u.user_id))

    @_locked
    def update_user(self, user: UserRecord) -> None:
        user = normalise(user)
        old = self._users.get(user.user_id)
        if old is None:
            raise StoreNotFound(f"no user {user.user_id!r}", field="user_id", reason="unknown_user")
        self._check_username(user)
        self._users[user.user_id] = dataclasses.replace(user, created_at_ms=old.created_at_ms)

    @_locked
    def delete_user(self, user_id: str) -> bool:
        if user_id not in self._users:
            return False
        self._delete_positions(user_id)
        self._keys = {k: v for k, v in self._keys.items() if k[0] != user_id}
        self._signals = {k: v for k, v in self._signals.items() if v.user_id != user_id}
        self._fingerprints = {k: v for k, v in self._fingerprints.items() if k[0] != user_id}
        del self._users[user_id]
        return True

    @_locked
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
        self._keys[(user_id, exchange)] = _Credentials(stored, at_ms)

    @_locked
    def get_exchange_credentials(self, user_id: str, exchange: str) -> ExchangeCredentials | None:
        found = self._keys.get((user_id, exchange.lower()))
        return None if found is None else found.credentials

    @_locked
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

    @_locked
    def record_signal(self, signal: SignalRecord) -> None:
        self._put_signal(signal)

    @_locked
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

    @_locked
    def get_signal(self, signal_id: str) -> SignalRecord | None:
        return self._signals.get(signal_id)

    @_locked
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
        return _newest(rows, limit)

    @_locked
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

    @_locked
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

    @_locked
    def prune_fingerprints(self, before_ms: int) -> int:
        stale = [k for k, (_, at) in self._fingerprints.items() if at < before_ms]
        for key in stale:
            del self._fingerprints[key]
        return len(stale)

    # -- positions -------------------------------------------------------------------------
    def _put_group(self, group: GroupRecord) -> None:
        group = normalise(group)
        self._need_user(group.user_id, "GroupRecord.user_id")
        old = self._groups.get(group.group_id)
        if old is not None:
            group = dataclasses.replace(group, created_at_ms=old.created_at_ms)
        self._groups[group.group_id] = group

    def _put_pyramid(self, pyramid: PyramidRecord) -> None:
        pyramid = normalise(pyramid)
        self._need(self._groups, pyramid.group_id, "PyramidRecord.group_id")
        self._unique(
            self._pyramids.values(),
            lambda p: (
                (p.group_id, p.index) == (pyramid.group_id, pyramid.index)
                and p.pyramid_id != pyramid.pyramid_id
            ),
            "PyramidRecord.index",
        )
        old = self._pyramids.get(pyramid.pyramid_id)
        if old is not None:
            pyramid = dataclasses.replace(pyramid, created_at_ms=old.created_at_ms)
        self._pyramids[pyramid.pyramid_id] = pyramid

    def _put_leg(self, leg: LegRecord) -> None:
        leg = normalise(leg)
        self._need(self._pyramids, leg.pyramid_id, "LegRecord.pyramid_id")
        self._unique(
            self._legs.values(),
            lambda x: (
                (x.pyramid_id, x.index) == (leg.pyramid_id, leg.index) and x.leg_id != leg.leg_id
            ),
            "LegRecord.index",
        )
        self._legs[leg.leg_id] = leg

    @staticmethod
    def _unique(rows: Any, clash: Callable[[Any], bool], where: str) -> None:
        if any(clash(r) for r in rows):
            raise StoreConflict(f"{where}: already used", field=where, reason="duplicate_index")

    def _put_order(self, order: OrderRecord) -> None:
        order = normalise(order)
        self._need_user(order.user_id, "OrderRecord.user_id")
        if order.group_id is not None:
            self._need(self._groups, order.group_id, "OrderRecord.group_id")
        old = self._orders.get(order.client_order_id)
        if old is not None:
            order = dataclasses.replace(order, created_at_ms=old.created_at_ms)
        self._orders[order.client_order_id] = order

    def _put_fill(self, fill: FillRecord) -> bool:
        fill = normalise(fill)
        self._need(self._orders, fill.client_order_id, "FillRecord.client_order_id")
        key = (fill.client_order_id, fill.trade_id)
        if key in self._fills:
            return False
        self._fills[key] = fill
        return True

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

    @_locked
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
        except BaseException:
            vars(self).update(saved)
            raise

    @_locked
    def upsert_group(self, group: GroupRecord) -> None:
        self._put_group(group)

    @_locked
    def upsert_pyramid(self, pyramid: PyramidRecord) -> None:
        self._put_pyramid(pyramid)

    @_locked
    def upsert_leg(self, leg: LegRecord) -> None:
        self._put_leg(leg)

    @_locked
    def upsert_order(self, order: OrderRecord) -> None:
        self._put_order(order)

    @_locked
    def record_fill(self, fill: FillRecord) -> bool:
        return self._put_fill(fill)

    @_locked
    def get_group(self, group_id: str) -> GroupRecord | None:
        return self._groups.get(group_id)

    @_locked
    def list_groups(
        self, user_id: str | None = None, statuses: Sequence[GroupStatus] | None = None
    ) -> list[GroupRecord]:
        wanted = None if statuses is None else {GroupStatus(s) for s in statuses}
        rows = [
            g
            for g in self._groups.values()
            if (user_id is None or g.user_id == user_id) and (wanted is None or g.status in wanted)
        ]
        return sorted(rows, key=lambda g: (g.created_at_ms, g.group_id))

    @_locked
    def list_pyramids(self, group_id: str) -> list[PyramidRecord]:
        rows = [p for p in self._pyramids.values() if p.group_id == group_id]
        return sorted(rows, key=lambda p: p.index)

    @_locked
    def list_legs(self, pyramid_id: str) -> list[LegRecord]:
        rows = [x for x in self._legs.values() if x.pyramid_id == pyramid_id]
        return sorted(rows, key=lambda x: x.index)

    @_locked
    def get_order(self, client_order_id: str) -> OrderRecord | None:
        return self._orders.get(client_order_id)

    @_locked
    def list_orders(
        self,
        user_id: str | None = None,
        group_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
    ) -> list[OrderRecord]:
        wanted = None if statuses is None else {OrderStatus(s) for s in statuses}
        rows = [
            o
            for o in self._orders.values()
            if (user_id is None or o.user_id == user_id)
            and (group_id is None or o.group_id == group_id)
            and (wanted is None or o.status in wanted)
        ]
        return sorted(rows, key=lambda o: (o.created_at_ms, o.client_order_id))

    @_locked
    def list_fills(self, client_order_id: str | None = None) -> list[FillRecord]:
        # dict order is insertion order, which stands in for the SQL id
        rows = [
            f
            for f in self._fills.values()
            if client_order_id is None or f.client_order_id == client_order_id
        ]
        return sorted(rows, key=lambda f: f.at_ms)

    def _delete_positions(self, user_id: str) -> int:
        groups = {g for g, rec in self._groups.items() if rec.user_id == user_id}
        pyramids = {p for p, rec in self._pyramids.items() if rec.group_id in groups}
        orders = {
            o for o, rec in self._orders.items() if rec.user_id == user_id or rec.group_id in groups
        }
        self._fills = {k: v for k, v in self._fills.items() if k[0] not in orders}
        self._orders = {k: v for k, v in self._orders.items() if k not in orders}
        self._legs = {k: v for k, v in self._legs.items() if v.pyramid_id not in pyramids}
        self._pyramids = {k: v for k, v in self._pyramids.items() if k not in pyramids}
        self._groups = {k: v for k, v in self._groups.items() if k not in groups}
        self._queued = {k: v for k, v in self._queued.items() if v.user_id != user_id}
        self._risk = {k: v for k, v in self._risk.items() if v.user_id != user_id}
        return len(groups)

    @_locked
    def delete_user_positions(self, user_id: str) -> int:
        return self._delete_positions(user_id)

    # -- queue and risk --------------------------------------------------------------------
    @_locked
    def upsert_queued_signal(self, queued: QueuedSignalRecord) -> None:
        self._put_queued(queued)

    @_locked
    def get_queued_signal(self, queue_id: str) -> QueuedSignalRecord | None:
        return self._queued.get(queue_id)

    @_locked
    def list_queued_signals(
        self, user_id: str | None = None, status: str | None = None
    ) -> list[QueuedSignalRecord]:
        rows = [
            q
            for q in self._queued.values()
            if (user_id is None or q.user_id == user_id) and (status is None or q.status == status)
        ]
        return sorted(rows, key=lambda q: (q.queued_at_ms, q.queue_id))

    @_locked
    def record_risk_action(self, action: RiskAction) -> None:
        self._put_risk(action)

    @_locked
    def list_risk_actions(self, user_id: str | None = None) -> list[RiskAction]:
        rows = [a for a in self._risk.values() if user_id is None or a.user_id == user_id]
        return sorted(rows, key=lambda a: (a.at_ms, a.action_id))

    # -- audit -----------------------------------------------------------------------------
    @_locked
    def append_event(self, event: EventRecord) -> int:
        return self._put_event(event)

    @_locked
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
        return _newest(rows, query.limit)

    # -- snapshot, export, maintenance -----------------------------------------------------
    @_locked
    def save_snapshot(self, data: dict[str, Any], at_ms: int) -> None:
        normalise(SnapshotRecord(at_ms=at_ms, data={}))
        self._snapshots.append(SnapshotRecord(at_ms, json_doc(data, "snapshot")))
        del self._snapshots[:-SNAPSHOTS_KEPT]

    @_locked
    def load_snapshot(self) -> SnapshotRecord | None:
        return self._snapshots[-1] if self._snapshots else None

    def export_rows(self, kind: ExportKind) -> list[dict[str, Any]]:
        return build_export_rows(self, kind)

    @_locked
    def reset(self) -> None:
        self._clear()

    def close(self) -> None:
        """Nothing to release."""
