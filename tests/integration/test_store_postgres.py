"""PostgreSQL across processes: separate worker processes (as uvicorn workers would be) start
on a fresh schema at the same moment (migrations take turns) and then race identical
duplicate-window claims (exactly one wins each round)."""

from __future__ import annotations

import multiprocessing
import uuid
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import create_engine

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_models import metadata
from engine.adapters.sql_store import SqlStore
from tests.kit import store_builders as kit
from tests.kit.store_builders import T0, user

pg_url = kit.pg_url

pytestmark = pytest.mark.postgres

WORKERS = 3
ROUNDS = 20
WINDOW_MS = 30_000


def _worker(url: str, schema: str, key: bytes, index: int, barrier: Any, results: Any) -> None:
    """One 'API worker process': start the store, then claim the same fingerprint per round."""
    try:
        barrier.wait(timeout=60)
        store = SqlStore(url, schema=schema, cipher=SecretCipher(key))  # migrates on start
        barrier.wait(timeout=60)
        if index == 0:
            store.create_user(user("u1"))
        barrier.wait(timeout=60)
        for r in range(ROUNDS):
            barrier.wait(timeout=60)
            at = T0 + r * (WINDOW_MS + 1)
            won = store.claim_fingerprint("u1", "same", at - WINDOW_MS, f"p{index}-r{r}", at)
            results.put((r, index, won))
        store.close()
    except BaseException as exc:
        results.put(("error", index, repr(exc)))
        barrier.abort()


def test_worker_processes_migrate_and_claim_without_duplicates(pg_url: str) -> None:
    schema = f"qt_proc_{uuid.uuid4().hex[:10]}"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    key = Fernet.generate_key()
    procs = [
        ctx.Process(target=_worker, args=(pg_url, schema, key, i, barrier, results))
        for i in range(WORKERS)
    ]
    try:
        for p in procs:
            p.start()
        rows = [results.get(timeout=120) for _ in range(WORKERS * ROUNDS)]
        for p in procs:
            p.join(timeout=60)
        errors = [r for r in rows if r[0] == "error"]
        assert errors == []
        winners = {r: [i for (rr, i, won) in rows if rr == r and won] for r in range(ROUNDS)}
        assert {r: len(w) for r, w in winners.items()} == dict.fromkeys(range(ROUNDS), 1)
        assert [p.exitcode for p in procs] == [0] * WORKERS
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        engine = create_engine(pg_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def test_migrated_postgres_schema_equals_the_models(pg_url: str) -> None:
    schema = f"qt_drift_{uuid.uuid4().hex[:10]}"
    store = SqlStore(pg_url, schema=schema, cipher=SecretCipher.generate())
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        store.close()
