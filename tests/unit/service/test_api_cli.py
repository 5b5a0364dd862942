"""The composition-root commands: ``qtrade users create|list|set-keys``, ``qtrade config
validate``; exchange API keys encrypted at rest, masked when shown, never logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from engine.adapters.sql_store import SqlStore
from engine.service.logs import configure_logging
from engine.store import ExchangeCredentials
from qtrade.cli import main
from tests.kit.service_builders import AUTH, SEED_USER_FILE, build_sim_service

RAW_KEY = "RAWKEYabcdefghijklmnopA4B1"
RAW_SECRET = "RAWSECRETzyxwvutsrqponmlkjihgfedcba9876"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_users_create_keeps_the_seed_id_and_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = f"sqlite:///{tmp_path / 'q.db'}"
    code, out, _ = _run(
        capsys, "users", "create", "--config", str(SEED_USER_FILE), "--db", db,
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {
        "user_id": "e7d6ae10-2a7d-4383-90d3-461c986e1e71",
        "webhook_secret": "1b6d3edada59826e786088a2161d70b6",
    }
    again, _, err = _run(
        capsys, "users", "create", "--config", str(SEED_USER_FILE), "--db", db,
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert again == 1
    assert "duplicate_user_id" in err


def test_users_create_generates_id_and_secret_when_the_config_has_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = json.loads(SEED_USER_FILE.read_text())
    del config["id"], config["webhook_secret"]
    config["username"] = "fresh"
    path = tmp_path / "fresh.json"
    path.write_text(json.dumps(config))
    db = f"sqlite:///{tmp_path / 'q.db'}"
    code, out, _ = _run(
        capsys, "users", "create", "--config", str(path), "--db", db, "--data-dir", str(tmp_path)
    )
    created = json.loads(out)
    assert code == 0
    assert len(created["user_id"]) == 36  # a UUID
    assert len(created["webhook_secret"]) == 32
    int(created["webhook_secret"], 16)  # hex, like the seed's


def test_config_validate_reports_field_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out, _ = _run(capsys, "config", "validate", str(SEED_USER_FILE))
    assert ok == 0
    assert json.loads(out)["valid"] is True
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "dca_grid_config": {"levels": []},\n  "surprise": 1\n}\n')
    code, _, err = _run(capsys, "config", "validate", str(broken))
    lines = sorted(err.strip().splitlines())
    assert code == 1
    # `  "dca_grid_config": {"levels": []},` -> "levels" at line 2, column 23
    # `  "surprise": 1` -> line 3, column 3
    assert any(line.startswith(f"{broken}:2:23: dca_grid_config.levels:") for line in lines)
    assert f"{broken}:3:3: surprise: unknown key [unknown_key]" in lines
    syntax = tmp_path / "syntax.json"
    syntax.write_text('{"username": "x"\n "id": "y"}')
    code, _, err = _run(capsys, "config", "validate", str(syntax))
    assert code == 1
    assert err.startswith(f"{syntax}:2:2: <json>: Expecting ',' delimiter")


async def test_api_keys_are_encrypted_masked_and_never_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QTRADE_SECRET_KEY", raising=False)
    log_file = tmp_path / "logs" / "qtrade.log"
    configure_logging(log_file=log_file, stream=False, level=logging.DEBUG)
    db = f"sqlite:///{tmp_path / 'q.db'}"
    common = ["--db", db, "--data-dir", str(tmp_path)]
    try:
        assert _run(capsys, "users", "create", "--config", str(SEED_USER_FILE), *common)[0] == 0
        code, out, _ = _run(
            capsys, "users", "set-keys", "e7d6ae10-2a7d-4383-90d3-461c986e1e71",
            "--exchange", "binance", "--api-key", RAW_KEY, "--api-secret", RAW_SECRET, *common,
        )  # fmt: skip
        assert code == 0
        assert json.loads(out)["api_key"] == "****A4B1"
        code, listed, _ = _run(capsys, "users", "list", *common)
        assert code == 0
        [user] = json.loads(listed)
        assert user["exchange_keys"] == [
            {"exchange": "binance", "api_key": "****A4B1", "testnet": False}
        ]
        store = SqlStore(db, data_dir=tmp_path)
        shown = store.list_exchange_credentials("e7d6ae10-2a7d-4383-90d3-461c986e1e71")
        assert [k.api_key_masked for k in shown] == ["****A4B1"]
        store.close()
    finally:
        configure_logging(log_file=None, stream=False)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert RAW_KEY.encode() not in data, path
            assert RAW_SECRET.encode() not in data, path


async def test_config_route_shows_keys_masked(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'q.db'}", data_dir=tmp_path)
    service = build_sim_service(store=store)
    store.set_exchange_credentials(
        service.user.user_id, ExchangeCredentials("bybit", RAW_KEY, RAW_SECRET), at_ms=0
    )
    try:
        async with service.client() as client:
            body = (await client.get(f"/config/{service.user.user_id}", headers=AUTH)).json()
    finally:
        store.close()
    assert body["exchange_keys"] == [{"exchange": "bybit", "api_key": "****A4B1", "testnet": False}]
    assert RAW_KEY not in json.dumps(body)
    assert RAW_SECRET not in json.dumps(body)
