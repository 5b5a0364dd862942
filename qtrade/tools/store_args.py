"""The database options every store-based script takes, resolved exactly as ``qtrade serve``
resolves them: ``--db``, else ``DATABASE_URL``, else ``<data dir>/qtrade.db`` when
``--data-dir`` is not the default, else ``sqlite:///var/qtrade.db``. ``--data-dir`` also
holds the key that encrypts exchange API keys (``QTRADE_SECRET_KEY`` overrides it), so a
script must use the service's data directory to read or write keys the service can open."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from engine.adapters.sql_store import SqlStore
from qtrade.commands.serve import ServeOptions, database_url

__all__ = ["ToolError", "add_store_arguments", "resolve_database_url", "open_store", "fail"]


class ToolError(Exception):
    """A script cannot do its job: ``field`` names the input, ``reason`` is a stable code.
    ``exit_code`` is 2 for bad flags, input files or an unreachable database (nothing was
    done) and 1 when the operation itself was refused (user exists, unknown user...)."""

    def __init__(self, message: str, *, field: str, reason: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason
        self.exit_code = exit_code

    def report(self) -> int:
        """Print the error as JSON on stderr and return the exit code."""
        return fail(self.reason, str(self), self.exit_code, field=self.field)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLAlchemy URL (default: DATABASE_URL, else sqlite)")
    parser.add_argument("--db-schema", help="PostgreSQL schema holding the tables")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("QTRADE_DATA_DIR", "var"),
        help="the service's data directory (encryption key); default QTRADE_DATA_DIR or var",
    )


def resolve_database_url(args: argparse.Namespace) -> str:
    options = ServeOptions(db=args.db, data_dir=args.data_dir, db_schema=args.db_schema)
    return database_url(options, os.environ)


def _shown(url: str) -> str:
    """The URL without its password (``user:****@host``), for messages."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:****@{tail}" if ":" in credentials else url


def open_store(args: argparse.Namespace) -> SqlStore:
    """The SQL store named by the arguments (the schema is migrated to head on open).
    Raises :class:`ToolError` (field ``db``, reason ``db_unavailable``) when it cannot."""
    url = resolve_database_url(args)
    try:
        return SqlStore(url, data_dir=Path(args.data_dir), schema=args.db_schema)
    except (SQLAlchemyError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ToolError(
            f"cannot open the database {_shown(url)}: {first_line}",
            field="db",
            reason="db_unavailable",
        ) from exc


def fail(error: str, message: str, code: int = 2, **extra: Any) -> int:
    """Print ``{"error", "message", ...}`` on stderr and return ``code`` (for ``main``)."""
    print(json.dumps({"error": error, "message": message, **extra}), file=sys.stderr)
    return code
