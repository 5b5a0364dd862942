"""clean_positions_for_user: deletes one user's groups, pyramids, legs, orders, fills, queue
rows and risk actions, and nothing of anyone else; refuses without --confirm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.adapters.sql_store import SqlStore
from engine.store import Store
from qtrade.tools import cleanup
from tests.kit.store_builders import (  # noqa: F401
    _pg_store,
    any_store,
    cipher,
    event,
    pg_schema,
    pg_url,
    risk_action,
    signal,
    user,
)
from tests.kit.tools import T0, closed_long_group, closed_short_group, sqlite_url, waiting_entry


def _two_users(store: Store) -> None:
    """u1 ("name-u1"): g1 (1 pyramid, 2 legs, 4 orders, 4 fills) and g2 (1 pyramid, 2 legs,
    3 orders, 3 fills), 2 queued signals, 1 risk action, 1 signal, 1 event.
    u2 ("name-u2"): g3 (like g1) and 1 queued signal."""
    closed_long_group(store, user_id="u1", group_id="g1")
    closed_short_group(store, user_id="u1", group_id="g2")
    closed_long_group(store, user_id="u2", group_id="g3")
    waiting_entry(store, user_id="u1", queue_id="q1")
    waiting_entry(store, user_id="u1", queue_id="q2", symbol="SOLUSDT")
    waiting_entry(store, user_id="u2", queue_id="q3")
    store.record_risk_action(risk_action("r1", "u1"))
    store.record_signal(signal("s1", "u1", group_id="g1"))
    store.append_event(event("opened", user_id="u1"))


# u1: groups 2, pyramids 1 + 1, legs 2 + 2, orders 4 + 3, fills 4 + 3, queue 2, risk 1
U1_COUNTS = {
    "groups": 2,
    "pyramids": 2,
    "legs": 4,
    "orders": 7,
    "fills": 7,
    "queued_signals": 2,
    "risk_actions": 1,
}


def test_counts_then_deletes_only_that_user(any_store: Store) -> None:  # noqa: F811
    _two_users(any_store)
    report = cleanup.clean_positions(any_store, "name-u1")
    assert report["deleted"] == U1_COUNTS
    assert report["user_id"] == "u1"
    assert any_store.list_groups(user_id="u1") == []
    assert any_store.list_pyramids("g1") == any_store.list_legs("g1-p0") == []
    assert any_store.list_orders(user_id="u1") == []
    assert all(not f.client_order_id.startswith(("g1-", "g2-")) for f in any_store.list_fills())
    assert any_store.list_queued_signals(user_id="u1") == []
    assert any_store.list_risk_actions(user_id="u1") == []
    # the user, their signals and the audit log stay; u2 keeps everything
    assert any_store.get_user("u1") is not None
    assert [s.signal_id for s in any_store.list_signals(user_id="u1")] == ["s1"]
    assert [g.group_id for g in any_store.list_groups(user_id="u2")] == ["g3"]
    assert len(any_store.list_orders(user_id="u2")) == 4
    assert len(any_store.list_fills()) == 4
    assert [q.queue_id for q in any_store.list_queued_signals()] == ["q3"]
    assert cleanup.count_user_positions(any_store, "u1") == cleanup.PositionCounts(
        0, 0, 0, 0, 0, 0, 0
    )


def test_snapshot_mention_is_reported(any_store: Store) -> None:  # noqa: F811
    _two_users(any_store)
    any_store.save_snapshot({"engine": {"groups": {"g3": {"user_id": "u2"}}}}, T0)
    assert cleanup.clean_positions(any_store, "name-u1")["snapshot_holds_user"] is False
    any_store.save_snapshot({"engine": {"groups": {"g1": {"user_id": "u1"}}}}, T0 + 1)
    assert cleanup.clean_positions(any_store, "name-u1")["snapshot_holds_user"] is True


def _db(tmp_path: Path) -> list[str]:
    """A SQLite file holding :func:`_two_users`; the script's arguments to open it."""
    url = sqlite_url(tmp_path)
    store = SqlStore(url, data_dir=tmp_path)
    _two_users(store)
    store.close()
    return ["--db", url, "--data-dir", str(tmp_path)]


def _open(args: list[str]) -> SqlStore:
    return SqlStore(args[1], data_dir=Path(args[3]))


def test_refuses_without_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _db(tmp_path)
    assert cleanup.main(["--username", "name-u1", *args]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "confirmation_required" and "--confirm" in error["message"]
    store = _open(args)
    assert len(store.list_groups(user_id="u1")) == 2  # untouched
    store.close()


def test_dry_run_then_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _db(tmp_path)
    assert cleanup.main(["--username", "name-u1", "--dry-run", *args]) == 0
    assert json.loads(capsys.readouterr().out)["would_delete"] == U1_COUNTS
    store = _open(args)
    assert len(store.list_groups(user_id="u1")) == 2
    store.close()
    assert cleanup.main(["--username", "name-u1", "--confirm", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "username": "name-u1",
        "user_id": "u1",
        "deleted": U1_COUNTS,
        "snapshot_holds_user": False,
    }
    store = _open(args)
    assert store.list_groups(user_id="u1") == [] and len(store.list_groups()) == 1
    store.close()


def test_unknown_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _db(tmp_path)
    assert cleanup.main(["--username", "zmomz", "--confirm", *args]) == 1
    error = json.loads(capsys.readouterr().err)
    assert error == {
        "error": "unknown_user",
        "message": "username: no user called 'zmomz'",
        "field": "username",
    }
