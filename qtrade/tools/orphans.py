"""Rows whose parent row is missing, found with SQL (the store's API cannot see them: it
reaches pyramids through their group and legs through their pyramid, and refuses to write an
orphan). Such rows appear when the database is edited without foreign keys enforced (the
``sqlite3`` shell's default), restored partially, or written by another tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, select

from engine.adapters.sql_engine import READ_OPTIONS
from engine.adapters.sql_rows import table
from engine.adapters.sql_store import SqlStore

__all__ = ["OrphanRow", "ORPHAN_CHECKS", "find_orphans"]


@dataclass(frozen=True, slots=True)
class OrphanRow:
    """``check``: which link is broken; ``row_id`` names the child, ``parent_id`` the parent
    it points at."""

    check: str
    child: str
    row_id: str
    parent: str
    parent_id: str


# (check, child table, child id column, link column, parent table, parent id column)
ORPHAN_CHECKS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("orphan_group", "position_groups", "id", "user_id", "users", "id"),
    ("orphan_pyramid", "pyramids", "id", "group_id", "position_groups", "id"),
    ("orphan_leg", "dca_legs", "id", "pyramid_id", "pyramids", "id"),
    ("order_missing_group", "orders", "client_order_id", "group_id", "position_groups", "id"),
    ("orphan_fill", "fills", "trade_id", "client_order_id", "orders", "client_order_id"),
)


def _missing(
    store: SqlStore, child: Table, id_col: str, link: str, parent: Table, parent_col: str
) -> list[tuple[Any, Any]]:
    query = (
        select(child.c[id_col], child.c[link])
        .select_from(child.outerjoin(parent, child.c[link] == parent.c[parent_col]))
        .where(and_(child.c[link].is_not(None), parent.c[parent_col].is_(None)))
        .order_by(child.c[id_col])
    )
    with store.engine.connect() as conn:
        conn.execution_options(**READ_OPTIONS)  # SQLite: a read transaction, no write lock
        return [(row[0], row[1]) for row in conn.execute(query)]


def find_orphans(store: SqlStore) -> list[OrphanRow]:
    """Every row of the SQL store whose parent is missing, in a stable order."""
    found: list[OrphanRow] = []
    for check, child_name, id_col, link, parent_name, parent_col in ORPHAN_CHECKS:
        child, parent = table(child_name), table(parent_name)
        for row_id, parent_id in _missing(store, child, id_col, link, parent, parent_col):
            found.append(OrphanRow(check, child_name, str(row_id), parent_name, str(parent_id)))
    return found
