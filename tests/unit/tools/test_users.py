"""create_test_user: the seed user from its config file with the service's own code, keys
stored encrypted (never in clear in the database file), and the failure cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.adapters.sql_store import SqlStore
from qtrade.tools import users
from tests.kit.tools import sqlite_url

# scenarios/users/maaz.json
SEED_ID = "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
SEED_SECRET = "1b6d3edada59826e786088a2161d70b6"
RAW_KEY = "binance-testnet-key-R4W1"
RAW_SECRET = "binance-testnet-secret-Z9Q8"


def _args(tmp_path: Path) -> list[str]:
    return ["--db", sqlite_url(tmp_path), "--data-dir", str(tmp_path)]


def _store(tmp_path: Path) -> SqlStore:
    return SqlStore(sqlite_url(tmp_path), data_dir=tmp_path)


def test_seed_user_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert users.main(_args(tmp_path)) == 0
    assert json.loads(capsys.readouterr().out) == {
        "user_id": SEED_ID,
        "webhook_secret": SEED_SECRET,
    }
    store = _store(tmp_path)
    record = store.get_user(SEED_ID)
    assert record is not None and record.username == "maaz"
    assert record.config["risk_config"]["max_open_positions_global"] == 3
    assert store.list_exchange_credentials(SEED_ID) == []
    store.close()


def test_keys_from_flags_are_stored_encrypted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SECRET_VAR", RAW_SECRET)
    flags = ["--exchange", "Binance", "--api-key", RAW_KEY, "--api-secret-env", "TEST_SECRET_VAR"]
    assert users.main([*flags, "--testnet", *_args(tmp_path)]) == 0
    capsys.readouterr()
    store = _store(tmp_path)
    credentials = store.get_exchange_credentials(SEED_ID, "binance")
    assert credentials is not None
    assert (credentials.api_key, credentials.api_secret, credentials.testnet) == (
        RAW_KEY, RAW_SECRET, True,
    )  # fmt: skip
    (masked,) = store.list_exchange_credentials(SEED_ID)
    assert masked.api_key_masked == "****R4W1"
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("tools.db*"))
    assert RAW_KEY.encode() not in raw and RAW_SECRET.encode() not in raw


def test_keys_from_the_environment_per_exchange(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", "bk-1111")
    monkeypatch.setenv("BINANCE_API_SECRET", "bs-2222")
    monkeypatch.setenv("BYBIT_API_KEY", "yk-3333")
    monkeypatch.setenv("BYBIT_API_SECRET", "ys-4444")
    argv = ["--exchange", "binance", "--exchange", "bybit", *_args(tmp_path)]
    assert users.main(argv) == 0
    capsys.readouterr()
    store = _store(tmp_path)
    found = {name: store.get_exchange_credentials(SEED_ID, name) for name in ("binance", "bybit")}
    store.close()
    assert {n: (c.api_key, c.api_secret) for n, c in found.items() if c} == {
        "binance": ("bk-1111", "bs-2222"),
        "bybit": ("yk-3333", "ys-4444"),
    }


@pytest.mark.parametrize(
    ("argv", "field", "reason"),
    [
        (["--exchange", "binance", "--exchange", "bybit", "--api-key", "k"], "exchange",
         "ambiguous_keys"),
        (["--exchange", "binance", "--api-key", "k"], "api_secret", "missing"),
        (["--exchange", "kraken"], "api_key", "missing"),
    ],
)  # fmt: skip
def test_missing_or_ambiguous_keys(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    field: str,
    reason: str,
) -> None:
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    monkeypatch.delenv("KRAKEN_API_KEY", raising=False)
    assert users.main([*argv, *_args(tmp_path)]) == 2
    error = json.loads(capsys.readouterr().err)
    assert (error["field"], error["error"]) == (field, reason)
    assert not (tmp_path / "tools.db").exists()  # refused before opening the database


def test_existing_user_fails_unless_exists_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert users.main(_args(tmp_path)) == 0
    capsys.readouterr()
    assert users.main(_args(tmp_path)) == 1
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "duplicate_user_id" and "--exists-ok" in error["message"]
    assert users.main(["--exists-ok", *_args(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["user_id"] == SEED_ID


def test_config_without_id_gets_a_fresh_id_and_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tester.json"
    grid = [{"gap_percent": 0, "weight_percent": 100, "tp_percent": 1}]
    config.write_text(json.dumps({"username": "tester", "dca_grid_config": {"levels": grid}}))
    assert users.main(["--config", str(config), *_args(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["webhook_secret"]) == 32  # 16 random bytes in hex
    store = _store(tmp_path)
    record = store.get_user_by_username("tester")
    store.close()
    assert record is not None and record.user_id == printed["user_id"]


def test_bad_config_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.json"
    grid = [{"gap_percent": 0, "weight_percent": 90, "tp_percent": 1}]
    config.write_text(json.dumps({"username": "x", "dca_grid_config": {"levels": grid}}))
    assert users.main(["--config", str(config), *_args(tmp_path)]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["field"] == "config" and error["error"] == "bad_config"
    assert "levels" in error["message"] and "weights_sum" in error["message"]
