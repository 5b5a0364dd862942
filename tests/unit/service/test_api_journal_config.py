"""Signals, events and config routes; precision refresh."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tests.kit.service_builders import (
    AUTH,
    SEED_USER_FILE,
    SimService,
    build_sim_service,
    plan_payload,
)


async def _open(service: SimService, client: Any) -> dict[str, Any]:
    payload = plan_payload(service.user.webhook_secret)
    body: dict[str, Any] = (
        await client.post(f"/webhooks/{service.user.user_id}", json=payload)
    ).json()
    return body


async def test_signals_list_outcomes_without_secrets() -> None:
    service = build_sim_service()
    async with service.client() as client:
        opened = await _open(service, client)
        await _open(service, client)  # duplicate
        signals = (await client.get("/signals", headers=AUTH)).json()
        only = (await client.get("/signals", headers=AUTH, params={"outcome": "duplicate"})).json()
    assert [s["outcome"] for s in signals] == ["opened", "duplicate"]
    first = signals[0]
    assert first["signal_id"] == opened["signal_id"]
    assert (first["exchange"], first["symbol"], first["timeframe"]) == ("BINANCE", "BTCUSDT", "60")
    assert (first["type"], first["action"], first["group_id"]) == ("signal", "buy", "g1")
    assert "secret" not in first["payload"]
    assert service.user.webhook_secret not in json.dumps(signals)
    assert [s["outcome"] for s in only] == ["duplicate"]


async def test_events_filter_by_category_severity_symbol_text_and_time() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _open(service, client)
        orders = (await client.get("/events", headers=AUTH, params={"category": "order"})).json()
        filled = (
            await client.get("/events", headers=AUTH, params={"contains": "order FILLED"})
        ).json()
        by_symbol = (await client.get("/events", headers=AUTH, params={"symbol": "btcusdt"})).json()
        later = (
            await client.get("/events", headers=AUTH, params={"since": "2026-01-01T00:00:01Z"})
        ).json()
        limited = (await client.get("/events", headers=AUTH, params={"limit": 2})).json()
        bad = await client.get("/events", headers=AUTH, params={"category": "nope"})
        bad_time = await client.get("/events", headers=AUTH, params={"since": "yesterday"})
    assert orders and {e["category"] for e in orders} == {"order"}
    assert {e["message"] for e in filled} == {"Order filled"}
    assert by_symbol and {e["symbol"] for e in by_symbol} == {"BTCUSDT"}
    assert later == []  # the simulator clock has not moved past 2026-01-01T00:00:00Z
    everything = (await service.client().get("/events", headers=AUTH)).json()
    assert [e["id"] for e in limited] == [e["id"] for e in everything[-2:]]
    assert bad.status_code == bad_time.status_code == 422
    assert bad.json()["detail"][0]["field"] == "category"
    assert bad_time.json()["detail"][0]["field"] == "since"


async def test_config_get_masks_validate_reports_put_applies_without_restart() -> None:
    service = build_sim_service()
    user_id = service.user.user_id
    async with service.client() as client:
        shown = (await client.get(f"/config/{user_id}", headers=AUTH)).json()
        assert shown["config"]["webhook_secret"] == "****" + service.user.webhook_secret[-4:]
        assert shown["config"]["risk_config"]["max_open_positions_global"] == 3

        bad = '{\n  "dca_grid_config": {"levels": [{"gap_percent": 0, "weight_percent": 90,\n'
        bad += '    "tp_percent": 1}]},\n  "risk_config": {"loss_threshold_percent": 2}\n}'
        report = (await client.post("/config/validate", headers=AUTH, content=bad)).json()
        assert report["valid"] is False
        where = {e["field"]: (e["line"], e["column"], e["code"]) for e in report["errors"]}
        # weights sum to 90: reported on the list's key; line 2 is
        # `  "dca_grid_config": {"levels": [...`: the quote of "levels" is at column 23
        assert where["dca_grid_config.levels"] == (2, 23, "weights_sum")
        # line 4 is `  "risk_config": {"loss_threshold_percent": 2}`: the key's quote is at 19
        assert where["risk_config.loss_threshold_percent"][:2] == (4, 19)

        refused = await client.put(f"/config/{user_id}", headers=AUTH, content=bad)
        assert refused.status_code == 422
        assert {e["field"] for e in refused.json()["detail"]} == set(where)

        config = json.loads(SEED_USER_FILE.read_text())
        config["risk_config"]["max_open_positions_global"] = 4
        config["webhook_secret"] = shown["config"]["webhook_secret"]  # masked: keep the secret
        applied = await client.put(f"/config/{user_id}", headers=AUTH, json=config)
        assert applied.status_code == 200, applied.text
        await _open(service, client)
        pool = (await client.get("/pool", headers=AUTH)).json()
        exported = (await client.get(f"/config/{user_id}/export", headers=AUTH)).json()
    assert pool["max"] == 4
    assert exported["webhook_secret"] == service.user.webhook_secret
    assert exported["risk_config"]["max_open_positions_global"] == 4


async def test_config_import_creates_then_updates_a_user() -> None:
    service = build_sim_service()
    config = json.loads(SEED_USER_FILE.read_text())
    config["id"] = "second-user"
    config["username"] = "second"
    config["webhook_secret"] = "0123456789abcdef0123456789abcdef"
    async with service.client() as client:
        created = (await client.post("/config/import", headers=AUTH, json=config)).json()
        again = (await client.post("/config/import", headers=AUTH, json=config)).json()
        payload = plan_payload(config["webhook_secret"])
        opened = (await client.post("/webhooks/second-user", json=payload)).json()
    assert created == {"user_id": "second-user", "username": "second", "created": True}
    assert again["created"] is False
    assert opened["outcome"] == "opened"


async def test_precision_refresh_reports_rules() -> None:
    service = build_sim_service()
    async with service.client() as client:
        response = await client.post(
            "/precision/refresh", headers=AUTH, params={"exchange": "binance", "symbol": "BTC/USDT"}
        )
        unknown = await client.post(
            "/precision/refresh", headers=AUTH, params={"exchange": "kraken"}
        )
    [row] = response.json()["exchanges"]
    assert (row["exchange"], row["loaded"], row["symbol"], row["known"]) == (
        "binance",
        True,
        "BTCUSDT",
        True,
    )
    # scenarios/markets/binance.json: BTCUSDT tick 0.01, step 0.00001, min qty 0.00001, min 5
    assert [Decimal(row[k]) for k in ("tick_size", "step_size", "min_qty", "min_notional")] == [
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
        Decimal("5"),
    ]
    assert unknown.status_code == 404


async def test_import_with_a_taken_username_is_a_conflict() -> None:
    service = build_sim_service()
    config = json.loads(SEED_USER_FILE.read_text())
    config["id"] = "another-id"  # a new user, but the seed's username "maaz" is taken
    async with service.client() as client:
        response = await client.post("/config/import", headers=AUTH, json=config)
    assert response.status_code == 409
    assert response.json()["detail"][0]["code"] == "duplicate_username"
