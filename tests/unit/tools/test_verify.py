"""verify_database_state: a clean database passes; each kind of problem is found (rows written
through the store, or — for orphans, which the store refuses to write — left behind by a
hand edit with foreign keys off)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from engine.adapters.crypto import SecretCipher
from engine.adapters.memory_store import MemoryStore
from engine.adapters.sql_store import SqlStore
from engine.domain import GroupStatus, OrderPurpose, OrderSide
from engine.store import Store
from qtrade.tools import verify
from qtrade.tools.verify import check_store, fee_value, recompute_realised
from tests.kit.store_builders import (  # noqa: F401
    _pg_store,
    any_store,
    cipher,
    fill,
    order,
    pg_schema,
    pg_url,
    pyramid,
    user,
)
from tests.kit.tools import (
    LONG_REALISED,
    SHORT_REALISED,
    T0,
    D,
    closed_long_group,
    closed_short_group,
    raw_sqlite,
    sqlite_url,
    waiting_entry,
)


def _checks(store: Store) -> list[tuple[str, Any]]:
    return sorted(
        (p.check, p.refs.get("group_id") or p.refs.get("client_order_id") or p.refs.get("queue_id"))
        for p in verify.verify(store)
    )


@pytest.fixture
def sqlite_store(tmp_path: Path, cipher: SecretCipher) -> Iterator[SqlStore]:  # noqa: F811
    store = SqlStore(sqlite_url(tmp_path), cipher=cipher)
    yield store
    store.close()


# ----------------------------------------------------------------------------- clean


def test_clean_database_has_no_problem(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    closed_short_group(any_store)
    waiting_entry(any_store)
    assert verify.verify(any_store) == []


def test_recomputed_pnl_of_the_hand_worked_groups(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    closed_short_group(any_store)
    fills: dict[str, list[Any]] = {}
    for item in any_store.list_fills():
        fills.setdefault(item.client_order_id, []).append(item)
    for group_id, expected, closed in (
        ("g1", LONG_REALISED, "0.0005"),
        ("g2", SHORT_REALISED, "1.2"),
    ):
        group = any_store.get_group(group_id)
        assert group is not None
        legs = [
            leg
            for p in any_store.list_pyramids(group_id)
            for leg in any_store.list_legs(p.pyramid_id)
        ]
        orders = any_store.list_orders(group_id=group_id)
        realised, by_fills, by_legs = recompute_realised(group, legs, orders, fills)
        assert realised == expected  # exact: every term is a finite decimal
        assert by_fills == by_legs == D(closed)  # 0.0002 + 0.0003; 0.5 + 0.7


def test_fee_valuation_quote_base_and_third_asset() -> None:
    base_fee = fill(fee=D("0.001"), fee_asset="BTC", price=D("95000"))
    quote_fee = fill(fee=D("0.5"), fee_asset="usdt")
    no_asset = fill(fee=D("0.25"), fee_asset="")
    bnb_fee = fill(fee=D("0.0001"), fee_asset="BNB")
    assert fee_value(base_fee, "BTCUSDT") == D("95")  # 0.001 BTC × 95000
    assert fee_value(quote_fee, "BTCUSDT") == D("0.5")
    assert fee_value(no_asset, "BTCUSDT") == D("0.25")
    assert fee_value(bnb_fee, "BTCUSDT") == 0  # kept out of PnL, as the engine does


# ----------------------------------------------------------------------------- PnL


@pytest.mark.parametrize(
    ("stored", "flagged"),
    [
        ("2.66556001", False),  # off by exactly 1e-8: within the tolerance
        ("2.665560011", True),  # off by 1.1e-8
        ("2.66557", True),
        ("-2.66556", True),  # the sign of a short's PnL flipped
    ],
)
def test_realised_pnl_mismatch_beyond_1e8(any_store: Store, stored: str, flagged: bool) -> None:  # noqa: F811
    closed_short_group(any_store, realised_pnl=D(stored))
    problems = [p for p in verify.verify(any_store) if p.check == "realised_pnl_mismatch"]
    assert bool(problems) is flagged
    if flagged:
        assert problems[0].refs["recomputed"] == "2.66556"
        assert D(problems[0].refs["difference"]) == D(stored) - SHORT_REALISED


def test_fee_in_a_third_asset_is_not_in_the_recomputed_pnl(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    # a BNB fee on the first TP instead of USDT: the engine leaves it out of PnL, so the
    # stored realised is higher by that TP's USDT fee: 0.382337162 + 0.019390444
    any_store.record_fill(fill("bnb", "g1-p0-l0-tp-0", quantity=D("0"), price=D("96952.22"),
                               fee=D("0.00002"), fee_asset="BNB"))  # fmt: skip
    assert verify.verify(any_store) == []


def test_close_quantity_mismatch_and_overclosed_leg(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    # the first leg claims 0.0003 closed but filled only 0.0002
    legs = any_store.list_legs("g1-p0")
    any_store.upsert_leg(replace(legs[0], closed_quantity=D("0.00030")))
    checks = _checks(any_store)
    assert ("leg_overclosed", "g1") in checks
    assert ("close_quantity_mismatch", "g1") in checks  # fills 0.0005, legs 0.0006
    assert ("realised_pnl_mismatch", "g1") in checks  # 0.0001 × 95992.30 more cost


# ----------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("over", "check"),
    [
        (
            {"updated_at_ms": T0 - 1, "closed_at_ms": None, "status": GroupStatus.ACTIVE},
            "timestamp_order",
        ),
        ({"updated_at_ms": T0 + 9_000, "closed_at_ms": T0 + 2_000}, "timestamp_order"),
        ({"created_at_ms": T0 + 3_000}, "timestamp_order"),  # created after closed (and updated)
        ({"closed_at_ms": None}, "closed_without_time"),
        ({"status": GroupStatus.ACTIVE}, "closed_time_on_open_group"),
    ],
)
def test_group_timestamp_problems(any_store: Store, over: dict[str, Any], check: str) -> None:  # noqa: F811
    closed_long_group(any_store, **over)
    assert (check, "g1") in _checks(any_store)


def test_order_queue_and_pyramid_timestamps(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    any_store.upsert_pyramid(pyramid("g1-p1", "g1", index=1, created_at_ms=T0 - 1))
    any_store.upsert_order(order("late", group_id="g1", created_at_ms=T0 + 5, updated_at_ms=T0))
    waiting_entry(any_store, queued_at_ms=T0 + 10, updated_at_ms=T0)
    problems = [p for p in verify.verify(any_store) if p.check == "timestamp_order"]
    found = {
        (p.refs.get("pyramid_id"), p.refs.get("client_order_id"), p.refs.get("queue_id"))
        for p in problems
    }
    assert found == {("g1-p1", None, None), (None, "late", None), (None, None, "q1")}


def test_order_of_another_users_group(any_store: Store) -> None:  # noqa: F811
    closed_long_group(any_store)
    any_store.create_user(user("u2"))
    any_store.upsert_order(order("stray", user_id="u2", group_id="g1", side=OrderSide.BUY,
                                 purpose=OrderPurpose.DCA, filled_quantity=D("0")))  # fmt: skip
    problems = verify.verify(any_store)
    assert [(p.check, p.refs) for p in problems] == [
        ("order_user_mismatch", {"client_order_id": "stray", "group_id": "g1"})
    ]


# ----------------------------------------------------------------------------- orphans


def test_orphans_left_by_hand_deletes_on_sqlite(sqlite_store: SqlStore, tmp_path: Path) -> None:
    closed_long_group(sqlite_store, user_id="u1", group_id="g1")
    closed_long_group(sqlite_store, user_id="u2", group_id="g2")
    closed_short_group(sqlite_store, user_id="u1", group_id="g3")
    assert verify.verify(sqlite_store) == []
    raw = raw_sqlite(tmp_path)
    raw.execute("DELETE FROM position_groups WHERE id = 'g1'")  # pyramid g1-p0 and 4 orders
    raw.execute("DELETE FROM pyramids WHERE id = 'g3-p0'")  # legs g3-p0-l0, -l1
    raw.execute("DELETE FROM orders WHERE client_order_id = 'g3-px-lx-exit-0'")  # its fill
    raw.execute("DELETE FROM users WHERE id = 'u2'")  # group g2 (and its orders' user)
    raw.close()
    found = {
        (p.check, p.refs["id"], p.refs["missing"])
        for p in verify.verify(sqlite_store)
        if "table" in p.refs
    }
    assert found == {
        ("orphan_pyramid", "g1-p0", "g1"),
        ("order_missing_group", "g1-p0-l0-entry-0", "g1"),
        ("order_missing_group", "g1-p0-l0-tp-0", "g1"),
        ("order_missing_group", "g1-p0-l1-dca-0", "g1"),
        ("order_missing_group", "g1-p0-l1-tp-0", "g1"),
        ("orphan_leg", "g3-p0-l0", "g3-p0"),
        ("orphan_leg", "g3-p0-l1", "g3-p0"),
        ("orphan_fill", "g3-px-lx-exit-0-t", "g3-px-lx-exit-0"),
        ("orphan_group", "g2", "u2"),
    }


@pytest.mark.postgres
def test_orphans_on_postgresql(pg_url: str, pg_schema: str, cipher: SecretCipher) -> None:  # noqa: F811
    schema = pg_schema + "_orph"
    store = SqlStore(pg_url, schema=schema, cipher=cipher)
    try:
        closed_long_group(store)
        assert verify.verify(store) == []
        engine = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # FKs off
            conn.exec_driver_sql("DELETE FROM pyramids WHERE id = 'g1-p0'")
        engine.dispose()
        found = sorted((p.check, p.refs["id"]) for p in verify.verify(store) if "table" in p.refs)
        assert found == [("orphan_leg", "g1-p0-l0"), ("orphan_leg", "g1-p0-l1")]
    finally:
        store.close()
        cleanup = create_engine(pg_url)
        with cleanup.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cleanup.dispose()


# ----------------------------------------------------------------------------- the script


def test_main_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(tmp_path)
    store = SqlStore(url, data_dir=tmp_path)
    closed_long_group(store)
    store.close()
    args = ["--db", url, "--data-dir", str(tmp_path)]
    assert verify.main(args) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == []
    assert json.loads(err) == {"checked": {"groups": 1, "orders": 4}, "problems": 0, "by_check": {}}
    store = SqlStore(url, data_dir=tmp_path)
    closed_long_group(store, realised_pnl=D("1"))
    store.close()
    assert verify.main(args) == 1
    out, err = capsys.readouterr()
    problems = json.loads(out)
    assert [p["check"] for p in problems] == ["realised_pnl_mismatch"]
    assert problems[0]["stored"] == "1" and problems[0]["recomputed"] == str(LONG_REALISED)
    assert json.loads(err)["by_check"] == {"realised_pnl_mismatch": 1}


@pytest.mark.parametrize("url", ["mysql://nobody@127.0.0.1/x", "not a url"])
def test_main_unopenable_database(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify.main(["--db", url, "--data-dir", str(tmp_path)]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "db_unavailable" and error["field"] == "db"


def test_check_store_on_memory_store_skips_sql_orphans() -> None:
    store = MemoryStore()
    closed_long_group(store)
    assert check_store(store) == verify.verify(store) == []
