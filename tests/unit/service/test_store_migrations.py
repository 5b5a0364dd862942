"""Alembic: the migration builds exactly the models' schema, runs on start, is idempotent,
and concurrent starts on one database do not trip over each other."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, create_engine, inspect

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_engine import alembic_config, upgrade_schema
from engine.adapters.sql_models import metadata
from engine.adapters.sql_store import SqlStore
from tests.kit.store_builders import user

TABLES = {
    "users",
    "user_exchange_keys",
    "signals",
    "signal_fingerprints",
    "position_groups",
    "pyramids",
    "dca_legs",
    "orders",
    "fills",
    "queued_signals",
    "risk_actions",
    "events",
    "engine_snapshots",
}


def _diff(url: str, target: MetaData) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, target))
    finally:
        engine.dispose()


def test_migrated_sqlite_schema_equals_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    SqlStore(url, cipher=SecretCipher.generate()).close()
    assert _diff(url, metadata) == []
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    engine.dispose()


def test_drift_check_would_notice_a_model_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    SqlStore(url, cipher=SecretCipher.generate()).close()
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["orders"].append_column(Column("leverage", Integer, nullable=True))
    diff = _diff(url, changed)
    assert [d[0] for d in diff if isinstance(d, tuple)] == ["add_column"]


def test_store_start_migrates_to_head_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cipher = SecretCipher.generate()
    first = SqlStore(url, cipher=cipher)
    first.create_user(user("u1"))
    first.close()
    second = SqlStore(url, cipher=cipher)  # a restart: upgrade is a no-op, data stays
    assert second.get_user("u1") == user("u1")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with second.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head == "0001"
    second.close()


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = SqlStore(url, cipher=SecretCipher.generate())
    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(store.engine).get_table_names()) == {"alembic_version"}
    upgrade_schema(store.engine)
    assert _diff(url, metadata) == []
    store.close()


def test_concurrent_starts_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    cipher = SecretCipher.generate()
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        try:
            barrier.wait(timeout=30)
            SqlStore(url, cipher=cipher).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert _diff(url, metadata) == []
