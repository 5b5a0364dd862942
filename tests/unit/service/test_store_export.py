"""Export rows (for ``scripts/export_data.py``): JSON-ready, nested positions, masked secrets."""

from __future__ import annotations

import json

from engine.store import EXPORT_KINDS, ExchangeCredentials, Store
from tests.kit import store_builders as kit
from tests.kit.store_builders import T0, event, queued, risk_action, seed_position, signal

any_store, cipher, pg_url, pg_schema, _pg_store = (
    kit.any_store,
    kit.cipher,
    kit.pg_url,
    kit.pg_schema,
    kit._pg_store,
)


def _seed(store: Store) -> None:
    seed_position(store)
    store.set_exchange_credentials(
        "u1", ExchangeCredentials("binance", "key-0000A4B1", "secret-zzz"), T0
    )
    store.record_signal(signal("s1", group_id="g1"))
    store.upsert_queued_signal(queued("q1"))
    store.record_risk_action(risk_action("r1"))
    store.append_event(event("opened"))


def test_positions_are_nested_with_pyramids_and_legs(any_store: Store) -> None:
    _seed(any_store)
    (row,) = any_store.export_rows("positions")
    assert row["group_id"] == "g1" and row["status"] == "live" and row["side"] == "long"
    assert row["average_entry"] == "95992.30" and row["open_quantity"] == "0.00020"
    # T0 = 1_770_000_000_000 ms = 2026-02-02T02:40:00.000Z
    assert row["created_at"] == "2026-02-02T02:40:00.000Z" and row["closed_at"] is None
    (pyr,) = row["pyramids"]
    assert (pyr["index"], pyr["capital"]) == (0, "95.9923")
    (leg,) = pyr["legs"]
    assert (leg["index"], leg["side"], leg["price"], leg["tp_price"], leg["status"]) == (
        0,
        "buy",
        "95992.30",
        "96952.22",
        "filled",
    )


def test_users_export_masks_secrets(any_store: Store) -> None:
    _seed(any_store)
    (row,) = any_store.export_rows("users")
    assert row["webhook_secret"] == "****c-u1"  # whsec-u1 -> last four "c-u1"
    assert row["exchanges"] == [
        {
            "exchange": "binance",
            "api_key_masked": "****A4B1",
            "testnet": False,
            "updated_at_ms": T0,
            "updated_at": "2026-02-02T02:40:00.000Z",
        }
    ]
    text = json.dumps(row)
    assert "key-0000A4B1" not in text and "secret-zzz" not in text and "whsec-u1" not in text


def test_every_kind_is_json_serialisable(any_store: Store) -> None:
    _seed(any_store)
    counts = {kind: len(any_store.export_rows(kind)) for kind in EXPORT_KINDS}
    assert counts == {
        "positions": 1,
        "users": 1,
        "signals": 1,
        "orders": 1,
        "events": 1,
        "queue": 1,
        "risk": 1,
    }
    for kind in EXPORT_KINDS:
        json.dumps(any_store.export_rows(kind))  # raises on Decimal, enum or datetime
    (risk,) = any_store.export_rows("risk")
    assert risk["winners"] == [{"group_id": "g2", "quantity": "0.05", "realised_usd": "6.30"}]
    (order,) = any_store.export_rows("orders")
    assert (order["purpose"], order["price"], order["average_price"]) == (
        "entry",
        None,
        "95992.30",
    )
