"""Cross-process serialisation of engine state changes.

Each worker process keeps its own :class:`engine.core.Engine`. When several processes share
one database, a state change runs under a lock every process honours; under it the runtime
compares the stored snapshot version with its own and reloads the engine first when another
process moved ahead. Locks:

- :class:`LocalStateLock`: one process, nothing to share (a no-op).
- :class:`PostgresStateLock`: a session-level PostgreSQL advisory lock on its own connection.
- :class:`FileStateLock`: ``fcntl.flock`` on a file next to a SQLite database.

Acquiring may block, so the runtime calls :meth:`acquire` in a worker thread.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, select

__all__ = [
    "STATE_LOCK_KEY",
    "StateLock",
    "LocalStateLock",
    "PostgresStateLock",
    "FileStateLock",
    "state_lock_for",
]

# Any constant shared by every worker of one deployment ("qtrs").
STATE_LOCK_KEY = 0x71747273


class StateLock(Protocol):
    """A lock shared by every process of one deployment."""

    shared: bool

    def acquire(self) -> None: ...

    def release(self) -> None: ...


class LocalStateLock:
    """Single process: the runtime's asyncio lock is enough."""

    shared = False

    def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


class PostgresStateLock:
    """``pg_advisory_lock`` held on a dedicated connection while a state change runs."""

    shared = True

    def __init__(self, sql_engine: Engine, key: int = STATE_LOCK_KEY) -> None:
        self._engine = sql_engine
        self._key = key
        self._conn: Connection | None = None
        self._guard = threading.Lock()

    def acquire(self) -> None:
        self._guard.acquire()
        try:
            conn = self._engine.connect()
            conn.execute(select(func.pg_advisory_lock(self._key)))
            conn.commit()  # the session lock outlives the transaction
        except BaseException:
            self._guard.release()
            raise
        self._conn = conn

    def release(self) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                try:
                    conn.execute(select(func.pg_advisory_unlock(self._key)))
                    conn.commit()
                finally:
                    conn.close()
        finally:
            self._guard.release()


class FileStateLock:
    """An exclusive ``flock`` on ``path`` (SQLite shared by several processes)."""

    shared = True

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._guard = threading.Lock()

    def acquire(self) -> None:
        self._guard.acquire()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._guard.release()
            raise
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
        finally:
            self._guard.release()


def state_lock_for(store: Any, *, shared: bool, data_dir: Path) -> StateLock:
    """The lock for ``store``: local when not shared; an advisory lock on PostgreSQL; a file
    lock under ``data_dir`` otherwise."""
    if not shared:
        return LocalStateLock()
    sql_engine = getattr(store, "engine", None)
    if isinstance(sql_engine, Engine) and sql_engine.dialect.name == "postgresql":
        return PostgresStateLock(sql_engine)
    return FileStateLock(data_dir / "engine.lock")
