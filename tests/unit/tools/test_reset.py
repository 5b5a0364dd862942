"""reset_test_environment: empties the store (users included), optionally recreates users,
refuses without --confirm, and touches nothing when a precondition fails (the simulator
side runs against a real server in tests/integration/test_scripts_sim.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.adapters.sql_store import SqlStore
from qtrade.tools import reset
from tests.kit.store_builders import T0, event, signal
from tests.kit.tools import closed_long_group, closed_short_group, sqlite_url, waiting_entry

SEED_FILE = str(Path(__file__).resolve().parents[3] / "scenarios" / "users" / "maaz.json")


def _db(tmp_path: Path) -> list[str]:
    """u1 with 2 closed groups (4 + 3 orders), 1 queued signal, 1 signal, 1 event, a snapshot."""
    store = SqlStore(sqlite_url(tmp_path), data_dir=tmp_path)
    closed_long_group(store)
    closed_short_group(store)
    waiting_entry(store)
    store.record_signal(signal("s1"))
    store.append_event(event("opened"))
    store.save_snapshot({"engine": {"groups": ["g1", "g2"]}}, T0)
    store.close()
    return ["--db", sqlite_url(tmp_path), "--data-dir", str(tmp_path)]


def _open(tmp_path: Path) -> SqlStore:
    return SqlStore(sqlite_url(tmp_path), data_dir=tmp_path)


def test_refuses_without_confirm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _db(tmp_path)
    assert reset.main(args) == 2
    assert json.loads(capsys.readouterr().err)["error"] == "confirmation_required"
    store = _open(tmp_path)
    assert len(store.list_groups()) == 2
    store.close()


def test_confirmed_reset_empties_every_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _db(tmp_path)
    assert reset.main(["--confirm", *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "deleted": {
            "users": 1,
            "signals": 1,
            "groups": 2,
            "open_groups": 0,
            "orders": 7,
            "queued_signals": 1,
            "risk_actions": 0,
        },
        "users_created": [],
    }
    store = _open(tmp_path)
    assert reset.store_counts(store) == dict.fromkeys(report["deleted"], 0)
    assert store.list_fills() == [] and store.load_snapshot() is None
    store.close()


def test_reset_then_create_the_seed_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _db(tmp_path)
    assert reset.main(["--confirm", "--users", SEED_FILE, *args]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["users_created"] == [
        {"user_id": "e7d6ae10-2a7d-4383-90d3-461c986e1e71", "username": "maaz"}
    ]
    store = _open(tmp_path)
    assert [u.username for u in store.list_users()] == ["maaz"]
    store.close()


@pytest.mark.parametrize("failing", ["users", "url"])
def test_nothing_is_reset_when_a_precondition_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], failing: str
) -> None:
    args = _db(tmp_path)
    bad_config = tmp_path / "bad.json"
    bad_config.write_text("{not json")
    extra = (
        ["--users", str(bad_config)]
        if failing == "users"
        else ["--url", "http://127.0.0.1:9", "--timeout", "2"]
    )
    assert reset.main(["--confirm", *extra, *args]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["field"] == ("config" if failing == "users" else "url")
    store = _open(tmp_path)
    assert len(store.list_groups()) == 2 and len(store.list_users()) == 1
    store.close()
