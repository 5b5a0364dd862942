"""Positions part of the SQL store: groups, pyramids, legs, orders and fills."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table, bindparam, delete, func, select

from engine.adapters import sql_rows as rows
from engine.adapters.sql_base import SqlBase
from engine.adapters.store_common import normalise
from engine.domain import GroupStatus, OrderStatus
from engine.store import (
    FillRecord,
    GroupRecord,
    LegRecord,
    OrderRecord,
    PyramidRecord,
    StoreConflict,
)

__all__ = ["SqlPositions"]

_USERS = rows.table("users")
_GROUPS = rows.table("position_groups")
_PYRAMIDS = rows.table("pyramids")
_LEGS = rows.table("dca_legs")
_ORDERS = rows.table("orders")
_FILLS = rows.table("fills")
_QUEUED = rows.table("queued_signals")
_RISK = rows.table("risk_actions")


class SqlPositions(SqlBase):
    """Writes (``_put_*``, used by single upserts and batches) and reads of positions."""

    def _put_group(self, conn: Connection, group: GroupRecord) -> None:
        group = normalise(group)
        self._need(conn, _USERS, "id", group.user_id, "GroupRecord.user_id")
        self._upsert(conn, _GROUPS, rows.GROUPS.values(group), keys=("id",), keep=("created_at",))

    def _need_free_index(
        self, conn: Connection, table: Table, parent: str, parent_id: str, index: int, own: str
    ) -> None:
        stmt = self._statement(
            ("free_index", table.name, parent),
            lambda: select(table.c.id).where(
                table.c[parent] == bindparam("parent"),
                table.c.index == bindparam("index"),
                table.c.id != bindparam("own"),
            ),
        )
        params = {"parent": parent_id, "index": index, "own": own}
        clash = conn.execute(stmt, params).first()
        if clash is not None:
            where = "PyramidRecord.index" if table is _PYRAMIDS else "LegRecord.index"
            raise StoreConflict(f"{where}: already used", field=where, reason="duplicate_index")

    def _put_pyramid(self, conn: Connection, pyramid: PyramidRecord) -> None:
        p = normalise(pyramid)
        self._need(conn, _GROUPS, "id", p.group_id, "PyramidRecord.group_id")
        self._need_free_index(conn, _PYRAMIDS, "group_id", p.group_id, p.index, p.pyramid_id)
        self._upsert(conn, _PYRAMIDS, rows.PYRAMIDS.values(p), keys=("id",), keep=("created_at",))

    def _put_leg(self, conn: Connection, leg: LegRecord) -> None:
        x = normalise(leg)
        self._need(conn, _PYRAMIDS, "id", x.pyramid_id, "LegRecord.pyramid_id")
        self._need_free_index(conn, _LEGS, "pyramid_id", x.pyramid_id, x.index, x.leg_id)
        self._upsert(conn, _LEGS, rows.LEGS.values(x), keys=("id",))

    def _put_order(self, conn: Connection, order: OrderRecord) -> None:
        o = normalise(order)
        self._need(conn, _USERS, "id", o.user_id, "OrderRecord.user_id")
        if o.group_id is not None:
            self._need(conn, _GROUPS, "id", o.group_id, "OrderRecord.group_id")
        values = rows.ORDERS.values(o)
        self._upsert(conn, _ORDERS, values, keys=("client_order_id",), keep=("created_at",))

    def _put_fill(self, conn: Connection, fill: FillRecord) -> bool:
        f = normalise(fill)
        where = "FillRecord.client_order_id"
        self._need(conn, _ORDERS, "client_order_id", f.client_order_id, where)
        values = rows.FILLS.values(f)
        stmt = self._statement(
            ("fill",),
            lambda: self.upsert_statement(
                _FILLS, list(values), ["client_order_id", "trade_id"], update=(), returning="id"
            ),
        )
        return conn.execute(stmt, values).first() is not None

    def upsert_group(self, group: GroupRecord) -> None:
        with self._write() as conn:
            self._put_group(conn, group)

    def upsert_pyramid(self, pyramid: PyramidRecord) -> None:
        with self._write() as conn:
            self._put_pyramid(conn, pyramid)

    def upsert_leg(self, leg: LegRecord) -> None:
        with self._write() as conn:
            self._put_leg(conn, leg)

    def upsert_order(self, order: OrderRecord) -> None:
        with self._write() as conn:
            self._put_order(conn, order)

    def record_fill(self, fill: FillRecord) -> bool:
        with self._write() as conn:
            return self._put_fill(conn, fill)

    def get_group(self, group_id: str) -> GroupRecord | None:
        row = self._first(_GROUPS, "id", group_id)
        return None if row is None else rows.GROUPS.build(row)

    def list_groups(
        self, user_id: str | None = None, statuses: Sequence[GroupStatus] | None = None
    ) -> list[GroupRecord]:
        t = _GROUPS
        query = select(t).order_by(t.c.created_at, t.c.id)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if statuses is not None:
            query = query.where(t.c.status.in_([GroupStatus(s).value for s in statuses]))
        with self._read() as conn:
            return [rows.GROUPS.build(r) for r in conn.execute(query)]

    def list_pyramids(self, group_id: str) -> list[PyramidRecord]:
        t = _PYRAMIDS
        with self._read() as conn:
            found = conn.execute(select(t).where(t.c.group_id == group_id).order_by(t.c.index))
            return [rows.PYRAMIDS.build(r) for r in found]

    def list_legs(self, pyramid_id: str) -> list[LegRecord]:
        t = _LEGS
        with self._read() as conn:
            found = conn.execute(select(t).where(t.c.pyramid_id == pyramid_id).order_by(t.c.index))
            return [rows.LEGS.build(r) for r in found]

    def get_order(self, client_order_id: str) -> OrderRecord | None:
        row = self._first(_ORDERS, "client_order_id", client_order_id)
        return None if row is None else rows.ORDERS.build(row)

    def list_orders(
        self,
        user_id: str | None = None,
        group_id: str | None = None,
        statuses: Sequence[OrderStatus] | None = None,
    ) -> list[OrderRecord]:
        t = _ORDERS
        query = select(t).order_by(t.c.created_at, t.c.client_order_id)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if group_id is not None:
            query = query.where(t.c.group_id == group_id)
        if statuses is not None:
            query = query.where(t.c.status.in_([OrderStatus(s).value for s in statuses]))
        with self._read() as conn:
            return [rows.ORDERS.build(r) for r in conn.execute(query)]

    def list_fills(self, client_order_id: str | None = None) -> list[FillRecord]:
        t = _FILLS
        query = select(t).order_by(t.c.at, t.c.id)
        if client_order_id is not None:
            query = query.where(t.c.client_order_id == client_order_id)
        with self._read() as conn:
            return [rows.FILLS.build(r) for r in conn.execute(query)]

    def _delete_positions(self, conn: Connection, user_id: str) -> int:
        groups = select(_GROUPS.c.id).where(_GROUPS.c.user_id == user_id)
        pyramids = select(_PYRAMIDS.c.id).where(_PYRAMIDS.c.group_id.in_(groups))
        orders = select(_ORDERS.c.client_order_id).where(
            (_ORDERS.c.user_id == user_id) | _ORDERS.c.group_id.in_(groups)
        )
        count = conn.execute(select(func.count()).select_from(groups.subquery())).scalar_one()
        conn.execute(delete(_FILLS).where(_FILLS.c.client_order_id.in_(orders)))
        conn.execute(delete(_ORDERS).where(_ORDERS.c.client_order_id.in_(orders)))
        conn.execute(delete(_LEGS).where(_LEGS.c.pyramid_id.in_(pyramids)))
        conn.execute(delete(_PYRAMIDS).where(_PYRAMIDS.c.group_id.in_(groups)))
        conn.execute(delete(_GROUPS).where(_GROUPS.c.user_id == user_id))
        conn.execute(delete(_QUEUED).where(_QUEUED.c.user_id == user_id))
        conn.execute(delete(_RISK).where(_RISK.c.user_id == user_id))
        return int(count)

    def delete_user_positions(self, user_id: str) -> int:
        with self._write() as conn:
            return self._delete_positions(conn, user_id)
