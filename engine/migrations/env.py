"""Alembic environment for the qtrade store.

Programmatic use (what :class:`engine.adapters.sql_store.SqlStore` does): the caller passes an
open connection in ``config.attributes["connection"]`` and owns its transaction. Command-line
use (``alembic -c alembic.ini upgrade head``): the URL comes from ``DATABASE_URL`` or the ini's
``sqlalchemy.url``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine

from engine.adapters.sql_models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set DATABASE_URL or sqlalchemy.url in alembic.ini")
    engine = create_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
