"""Plumbing shared by the SQL store's parts: engine, one transaction per call, upserts, parent
checks. Writes map constraint failures to :class:`engine.store.StoreIntegrityError`."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, TextClause, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_engine import READ_OPTIONS, build_engine, is_memory_sqlite, upgrade_schema
from engine.store import StoreIntegrityError

__all__ = ["SqlBase", "DATA_DIR_ENV"]

DATA_DIR_ENV = "QTRADE_DATA_DIR"
_KNOWN = "qtrade_known_rows"


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
        self._statements: dict[tuple[Any, ...], Any] = {}
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
                    conn.info[_KNOWN] = set()  # rows known to exist in this transaction
                    yield conn
            except IntegrityError as exc:
                raise StoreIntegrityError(
                    f"database constraint failed: {exc.orig}", reason="constraint_failed"
                ) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self._engine.connect() as conn:
            conn.execution_options(**READ_OPTIONS)
            conn.info.pop(_KNOWN, None)
            yield conn

    def upsert_statement(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        *,
        update: Sequence[str] | None = None,
        where: str | None = None,
        returning: str | None = None,
    ) -> TextClause:
        """``INSERT ... ON CONFLICT (keys) DO UPDATE SET col = excluded.col [WHERE ...]
        [RETURNING ...]`` (``update=()``: ``DO NOTHING``), the same text on SQLite and
        PostgreSQL, with typed parameters (so Decimal and time columns convert).

        Text, not SQLAlchemy's dialect ``insert().on_conflict_do_update()``: those constructs
        are not cacheable (``inherit_cache = False``) and recompiling them on every call cost
        more than the database work."""
        quote = self._engine.dialect.identifier_preparer.quote
        name = quote(table.name)
        cols = ", ".join(quote(c) for c in columns)
        params = ", ".join(f":{c}" for c in columns)
        sql = f"INSERT INTO {name} ({cols}) VALUES ({params}) "
        sql += f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) "
        changed = [c for c in columns if c not in keys] if update is None else list(update)
        if changed:
            sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in changed)
            sql += f"DO UPDATE SET {sets}"
            if where:
                sql += f" WHERE {where}"
        else:
            sql += "DO NOTHING"
        if returning:
            sql += f" RETURNING {quote(returning)}"
        binds = [bindparam(c, type_=table.c[c].type) for c in columns]
        return text(sql).bindparams(*binds)

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        values: dict[str, Any],
        keys: Sequence[str],
        keep: Sequence[str] = (),
    ) -> None:
        """Insert, or on a key clash update every column except ``keys`` and ``keep``."""
        shape = (table.name, tuple(values), tuple(keys), tuple(keep))
        stmt = self._statements.get(shape)
        if stmt is None:
            update = [c for c in values if c not in keys and c not in keep]
            stmt = self.upsert_statement(table, list(values), keys, update=update)
            self._statements[shape] = stmt
        conn.execute(stmt, values)
        if len(keys) == 1:
            conn.info[_KNOWN].add((table.name, keys[0], values[keys[0]]))

    def _exists(self, conn: Connection, table: Table, column: str, value: Any) -> bool:
        if (table.name, column, value) in conn.info.get(_KNOWN, ()):
            return True
        shape = ("exists", table.name, column)
        stmt = self._statements.get(shape)
        if stmt is None:
            stmt = select(table.c[column]).where(table.c[column] == bindparam("value"))
            self._statements[shape] = stmt
        found = conn.execute(stmt, {"value": value}).first() is not None
        if found and _KNOWN in conn.info:
            conn.info[_KNOWN].add((table.name, column, value))
        return found

    def _need(self, conn: Connection, table: Table, column: str, value: Any, where: str) -> None:
        if not self._exists(conn, table, column, value):
            reason = "unknown_user" if table.name == "users" else "missing_parent"
            raise StoreIntegrityError(
                f"{where}: no such parent {value!r}", field=where, reason=reason
            )

    def _statement(self, shape: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """A statement built once per ``shape`` (executed later with parameters)."""
        stmt = self._statements.get(shape)
        if stmt is None:
            stmt = self._statements[shape] = build()
        return stmt

    def _first(self, table: Table, column: str, value: Any) -> Any:
        with self._read() as conn:
            return conn.execute(select(table).where(table.c[column] == value)).first()
