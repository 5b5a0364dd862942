"""export_data: positions nested in JSON and one row per leg in CSV; users never show a secret
or a raw key; every other kind; the script's output and errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.adapters.crypto import SecretCipher
from engine.adapters.sql_store import SqlStore
from engine.store import ExchangeCredentials
from qtrade.tools import export
from qtrade.tools.store_args import ToolError
from tests.kit.store_builders import (  # noqa: F401
    cipher,
    event,
    group,
    risk_action,
    signal,
    user,
)
from tests.kit.tools import (
    LONG_REALISED,
    T0,
    closed_long_group,
    closed_short_group,
    sqlite_url,
    waiting_entry,
)

RAW_KEY = "AKIA-raw-key-7Q2Z"
RAW_SECRET = "very-secret-api-secret-9X1C"


@pytest.fixture
def store(tmp_path: Path, cipher: SecretCipher) -> Iterator[SqlStore]:  # noqa: F811
    store = SqlStore(sqlite_url(tmp_path), cipher=cipher)
    yield store
    store.close()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_positions_json_nests_pyramids_and_legs(store: SqlStore) -> None:
    closed_long_group(store)
    rows = export.export_rows(store, "positions")
    assert len(rows) == 1
    group_row = rows[0]
    assert group_row["status"] == "closed"
    assert group_row["pyramid_count"] == 1
    assert group_row["average_entry"] is None  # nothing open any more
    assert group_row["realised_pnl"] == str(LONG_REALISED)
    assert group_row["unrealised_pnl"] == "0"
    (pyramid_row,) = group_row["pyramids"]
    assert pyramid_row["index"] == 0
    legs = pyramid_row["legs"]
    wanted = ("index", "side", "price", "quantity", "status", "filled_quantity",
              "average_fill_price", "tp_price")  # fmt: skip
    assert [tuple(leg[k] for k in wanted) for leg in legs] == [
        (0, "buy", "95992.30", "0.00020", "filled", "0.00020", "95992.30", "96952.22"),
        (1, "buy", "95512.33", "0.00030", "filled", "0.00030", "95512.33", "96467.45"),
    ]
    text = export.render(rows, "positions", "json")
    assert json.loads(text) == rows


def test_positions_csv_one_row_per_leg_with_group_columns_repeated(store: SqlStore) -> None:
    closed_long_group(store)
    closed_short_group(store)
    store.upsert_group(group("g3", created_at_ms=T0 + 10))  # a group with no pyramid yet
    rows = _csv(export.render(export.export_rows(store, "positions"), "positions", "csv"))
    assert [(r["group_id"], r["leg_index"]) for r in rows] == [
        ("g1", "0"), ("g1", "1"), ("g2", "0"), ("g2", "1"), ("g3", ""),
    ]  # fmt: skip
    assert {r["status"] for r in rows[:2]} == {"closed"}
    assert rows[0]["realised_pnl"] == rows[1]["realised_pnl"] == str(LONG_REALISED)
    assert rows[2]["side"] == "short" and rows[2]["leg_side"] == "sell"
    assert rows[3]["leg_average_fill_price"] == "241.20"
    assert rows[0]["pyramid_id"] == "g1-p0" and rows[0]["leg_id"] == "g1-p0-l0"
    assert rows[0]["leg_tp_price"] == "96952.22"
    assert rows[4]["pyramid_id"] == "" and rows[4]["status"] == "live"
    assert list(rows[0]) == export.default_columns("positions")


def test_users_export_masks_every_secret(store: SqlStore, tmp_path: Path) -> None:
    store.create_user(user("u1", webhook_secret="whsec-0123456789abcdef"))
    store.set_exchange_credentials("u1", ExchangeCredentials("binance", RAW_KEY, RAW_SECRET), T0)
    rows = export.export_rows(store, "users")
    for fmt in export.EXPORT_FORMATS:
        text = export.render(rows, "users", fmt)
        assert RAW_KEY not in text and RAW_SECRET not in text
        assert "whsec-0123456789abcdef" not in text
        assert "****cdef" in text and "****7Q2Z" in text
    (row,) = rows
    assert row["webhook_secret"] == "****cdef"
    assert row["exchanges"][0]["api_key_masked"] == "****7Q2Z"


def test_mask_secrets_catches_what_a_store_let_through() -> None:
    row = {
        "user_id": "u1",
        "config": {"exchanges": [{"api_key": "ABCDEFGH1234", "api_secret": "s3cr3tXYZW"}]},
        "webhook_secret": "****abcd",
        "password": "hunter2!",
    }
    assert export.mask_secrets(row) == {
        "user_id": "u1",
        "config": {"exchanges": [{"api_key": "****1234", "api_secret": "****XYZW"}]},
        "webhook_secret": "****abcd",
        "password": "****er2!",  # the last four characters of hunter2!
    }


@pytest.mark.parametrize("kind", ["signals", "orders", "events", "queue", "risk"])
def test_other_kinds_as_json_and_csv(store: SqlStore, kind: str) -> None:
    closed_long_group(store)
    store.record_signal(signal("s1", group_id="g1"))
    store.append_event(event("webhook received"))
    waiting_entry(store)
    store.record_risk_action(risk_action())
    rows = export.export_rows(store, kind)
    # 1 signal; 4 orders of closed_long_group; 1 event; 1 queued entry; 1 risk action
    assert len(rows) == {"signals": 1, "orders": 4, "events": 1, "queue": 1, "risk": 1}[kind]
    parsed = _csv(export.render(rows, kind, "csv"))
    assert len(parsed) == len(rows)
    assert set(export.default_columns(kind)) <= set(parsed[0])
    if kind == "risk":
        winners = json.loads(parsed[0]["winners"])  # nested values are JSON text in a cell
        assert winners == [{"group_id": "g2", "quantity": "0.05", "realised_usd": "6.30"}]


@pytest.mark.parametrize("kind", ["positions", "users", "signals", "orders", "queue", "risk"])
def test_empty_csv_still_has_its_header(store: SqlStore, kind: str) -> None:
    text = export.render(export.export_rows(store, kind), kind, "csv")
    assert text.splitlines() == [",".join(export.default_columns(kind))]


def test_main_writes_file_or_stdout(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    cipher: SecretCipher,  # noqa: F811
) -> None:
    url = sqlite_url(tmp_path)
    store = SqlStore(url, cipher=cipher)
    closed_long_group(store)
    store.close()
    base = ["--db", url, "--data-dir", str(tmp_path)]
    assert export.main(["--type", "positions", "--format", "json", *base]) == 0
    assert json.loads(capsys.readouterr().out)[0]["group_id"] == "g1"
    target = tmp_path / "positions_final.csv"
    assert (
        export.main(["--type", "positions", "--format", "csv", "--output", str(target), *base]) == 0
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err) == {
        "type": "positions", "format": "csv", "rows": 1, "output": str(target),
    }  # fmt: skip
    assert len(_csv(target.read_text())) == 2  # one row per leg


def test_main_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        export.main(["--type", "wallets"])
    assert exit_info.value.code == 2
    capsys.readouterr()
    url = sqlite_url(tmp_path)
    out = ["--output", str(tmp_path / "missing-dir" / "x.json")]
    code = export.main(["--type", "users", "--db", url, "--data-dir", str(tmp_path), *out])
    assert code == 2
    error = json.loads(capsys.readouterr().err)
    assert error["field"] == "output" and error["error"] == "not_writable"
    memory = SqlStore("sqlite://")
    with pytest.raises(ToolError) as bad:
        export.export_rows(memory, "wallets")
    memory.close()
    assert bad.value.field == "type" and bad.value.reason == "unknown_type"
