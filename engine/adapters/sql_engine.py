"""Database engines and migrations for the SQL store.

- SQLite: WAL journal, ``foreign_keys=ON``, a 30 s busy timeout, and transactions opened by
  SQLAlchemy itself — ``BEGIN IMMEDIATE`` for writes (concurrent writers queue on the
  database lock instead of failing when a read lock cannot be upgraded), ``BEGIN DEFERRED``
  for reads. ``sqlite://`` (in memory) shares one connection (``StaticPool``).
- PostgreSQL: ``pool_pre_ping``; an optional schema put first on the ``search_path`` (and
  created when missing), which is how tests isolate concurrent runs.
- :func:`upgrade_schema` runs Alembic ``upgrade head`` one process at a time: under a
  PostgreSQL advisory lock, or inside SQLite's ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = [
    "READ_OPTIONS",
    "alembic_config",
    "build_engine",
    "is_memory_sqlite",
    "upgrade_schema",
]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Any constant shared by every process that migrates the same PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x71747264  # "qtrd"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
READ_OPTIONS = {"sqlite_begin": "DEFERRED"}


def alembic_config() -> Config:
    """Alembic configuration pointing at ``engine/migrations`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Run ``alembic upgrade head`` on ``engine``, one process at a time."""
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def is_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def build_engine(url: str, schema: str | None = None) -> Engine:
    """Engine for ``sqlite:///file``, ``sqlite://`` or ``postgresql+psycopg://...``."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        memory = is_memory_sqlite(url)
        if memory:
            engine = create_engine(
                url, poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            assert parsed.database is not None
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine, memory=memory)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if schema is not None:
            if not _SCHEMA_NAME.match(schema):
                raise ValueError(f"schema: {schema!r} is not a plain SQL identifier")
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        if schema is not None:
            with engine.begin() as conn:
                # IF NOT EXISTS alone races between processes (unique violation on
                # pg_namespace); the advisory lock makes concurrent starts take turns.
                conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return engine
    raise ValueError(f"database url: unsupported backend {backend!r} (use sqlite or postgresql)")


def _configure_sqlite(engine: Engine, *, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (pysqlite's implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")
