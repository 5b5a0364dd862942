"""Shared state, guards and the positions part (groups, pyramids, legs, orders, fills) of the
in-memory store; :class:`engine.adapters.memory_store.MemoryStore` adds the rest."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from engine.adapters.store_common import normalise
from engine.domain import GroupStatus, OrderStatus, RiskAction
from engine.store import (
    EventRecord,
    ExchangeCredentials,
    FillRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    QueuedSignalRecord,
    SignalRecord,
    SnapshotRecord,
    StoreConflict,
    StoreIntegrityError,
    UserRecord,
)

__all__ = ["Credentials", "MemoryPositions", "locked", "newest"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def locked(method: F) -> F:
    """Run under the store's lock and hand back a deep copy (callers cannot mutate state)."""

    def wrapper(self: MemoryPositions, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return copy.deepcopy(method(self, *args, **kwargs))

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper  # type: ignore[return-value]


def newest(rows: list[T], limit: int | None) -> list[T]:
    """The last ``limit`` of oldest-first ``rows`` (all when ``limit`` is None)."""
    if limit is None or len(rows) <= limit:
        return rows
    return rows[len(rows) - limit :] if limit > 0 else []


@dataclasses.dataclass(frozen=True, slots=True)
class Credentials:
    """Stored keys with their update time (kept in clear: nothing here reaches a disk)."""

    credentials: ExchangeCredentials
    updated_at_ms: int


class MemoryPositions:
    """Tables as dictionaries, parent checks, and the position operations."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._next_event_id = 1
        self._clear()

    def _clear(self) -> None:
        self._users: dict[str, UserRecord] = {}
        self._keys: dict[tuple[str, str], Credentials] = {}
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

    def upsert_group(self, group: GroupRecord) -> None:
        self._put_group(group)

    @locked
    def upsert_pyramid(self, pyramid: PyramidRecord) -> None:
        self._put_pyramid(pyramid)

    @locked
    def upsert_leg(self, leg: LegRecord) -> None:
        self._put_leg(leg)

    @locked
    def upsert_order(self, order: OrderRecord) -> None:
        self._put_order(order)

    @locked
    def record_fill(self, fill: FillRecord) -> bool:
        return self._put_fill(fill)

    @locked
    def get_group(self, group_id: str) -> GroupRecord | None:
        return self._groups.get(group_id)

    @locked
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

    @locked
    def list_pyramids(self, group_id: str) -> list[PyramidRecord]:
        rows = [p for p in self._pyramids.values() if p.group_id == group_id]
        return sorted(rows, key=lambda p: p.index)

    @locked
    def list_legs(self, pyramid_id: str) -> list[LegRecord]:
        rows = [x for x in self._legs.values() if x.pyramid_id == pyramid_id]
        return sorted(rows, key=lambda x: x.index)

    @locked
    def get_order(self, client_order_id: str) -> OrderRecord | None:
        return self._orders.get(client_order_id)

    @locked
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

    @locked
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

    @locked
    def delete_user_positions(self, user_id: str) -> int:
        return self._delete_positions(user_id)
