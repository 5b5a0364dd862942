"""Plumbing shared by the SQL store's parts: engine, one transaction per call, upserts, parent
checks. Writes map constraint failures to :class:`engine.store.StoreIntegrityError`."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_engine import READ_OPTIONS, build_engine, is_memory_sqlite, upgrade_schema
from engine.store import StoreIntegrityError

__all__ = ["SqlBase", "DATA_DIR_ENV"]

DATA_DIR_ENV = "QTRADE_DATA_DIR"


class SqlBase:
    """Engine, transactions and the small helpers every SQL store operation uses.

    ``cipher`` encrypts exchange keys (default: ``QTRADE_SECRET_KEY``, else a key file in
    ``data_dir`` — ``$QTRADE_DATA_DIR`` or ``var/`` — created on first use). ``schema``
    (PostgreSQL only) puts every table in that schema, created if missing."""

    def __init__(
        self,
        url: str,
        *,
        cipher: SecretCipher | None = None,
        data_dir: Path | None = None,
        schema: str | None = None,
        migrate: bool = True,
    ) -> None:
        self.url = url
        self._engine = build_engine(url, schema)
        self.dialect = self._engine.dialect.name
        # In-memory SQLite is ONE shared connection: serialise whole transactions on it.
        self._serial = threading.RLock() if is_memory_sqlite(url) else None
        self._cipher = cipher
        self._data_dir = data_dir
        if migrate:
            with self._guard():
                upgrade_schema(self._engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def cipher(self) -> SecretCipher:
        if self._cipher is None:
            data_dir = self._data_dir or Path(os.environ.get(DATA_DIR_ENV, "var"))
            self._cipher = SecretCipher.from_environment(data_dir)
        return self._cipher

    # -- plumbing --------------------------------------------------------------------------
    def _guard(self) -> AbstractContextManager[Any]:
        return self._serial if self._serial is not None else nullcontext()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._guard():
            try:
                with self._engine.begin() as conn:
                    yield conn
            except IntegrityError as exc:
                raise StoreIntegrityError(
                    f"database constraint failed: {exc.orig}", reason="constraint_failed"
                ) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(**READ_OPTIONS)
            yield conn

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        values: dict[str, Any],
        keys: Sequence[str],
        keep: Sequence[str] = (),
    ) -> None:
        """Insert, or on a key clash update every column except ``keys`` and ``keep``."""
        stmt = self._insert(table).values(**values)
        changes = {c: stmt.excluded[c] for c in values if c not in keys and c not in keep}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=changes))

    @staticmethod
    def _exists(conn: Connection, table: Table, column: str, value: Any) -> bool:
        found = conn.execute(select(table.c[column]).where(table.c[column] == value)).first()
        return found is not None

    def _need(self, conn: Connection, table: Table, column: str, value: Any, where: str) -> None:
        if not self._exists(conn, table, column, value):
            reason = "unknown_user" if table.name == "users" else "missing_parent"
            raise StoreIntegrityError(
                f"{where}: no such parent {value!r}", field=where, reason=reason
            )

    def _first(self, table: Table, column: str, value: Any) -> Any:
        with self._read() as conn:
            return conn.execute(select(table).where(table.c[column] == value)).first()
