"""The OpenAPI document is complete: every route of the contract (briefs/api_contract.md) is
there with a JSON response schema, and the main models carry the contract's fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit.service_builders import build_sim_service

CONTRACT_ROUTES = [
    ("post", "/webhooks/{user_id}", "202"),
    ("post", "/api/v1/webhooks/{user_id}/tradingview", "202"),
    ("get", "/positions", "200"),
    ("get", "/positions/{group_id}", "200"),
    ("post", "/positions/{group_id}/close", "200"),
    ("get", "/pool", "200"),
    ("get", "/queue", "200"),
    ("post", "/queue/{queue_id}/promote", "200"),
    ("post", "/queue/{queue_id}/force-add", "200"),
    ("delete", "/queue/{queue_id}", "200"),
    ("get", "/risk", "200"),
    ("get", "/risk/plan", "200"),
    ("get", "/risk/actions", "200"),
    ("post", "/risk/run", "200"),
    ("post", "/risk/{group_id}/block", "200"),
    ("post", "/risk/{group_id}/unblock", "200"),
    ("post", "/risk/{group_id}/skip-once", "200"),
    ("get", "/signals", "200"),
    ("get", "/events", "200"),
    ("get", "/orders", "200"),
    ("get", "/metrics", "200"),
    ("post", "/precision/refresh", "200"),
    ("get", "/config/{user_id}", "200"),
    ("post", "/config/validate", "200"),
    ("put", "/config/{user_id}", "200"),
    ("get", "/config/{user_id}/export", "200"),
    ("post", "/config/import", "200"),
    ("get", "/health", "200"),
    ("post", "/signals/predict", "200"),
    ("post", "/trades/place", "200"),
    ("get", "/trades/order/{order_id}", "200"),
    ("get", "/trades/positions", "200"),
]

GROUP_FIELDS = {
    "group_id", "user_id", "exchange", "symbol", "timeframe", "side", "status", "pyramid_count",
    "max_pyramids", "average_entry", "open_quantity", "realised_pnl", "unrealised_pnl",
    "unrealised_percent", "mark_price", "created_at", "updated_at", "closed_at", "tp_mode",
    "blocked", "pyramids",
}  # fmt: skip
PYRAMID_FIELDS = {"index", "capital", "leg0_fill_price", "created_at", "legs"}
LEG_FIELDS = {
    "index", "side", "price", "quantity", "status", "filled_quantity", "average_fill_price",
    "tp_price", "closed_quantity", "realised_pnl", "fees", "client_order_id",
}  # fmt: skip
QUEUE_FIELDS = {
    "queue_id", "rank", "user_id", "exchange", "symbol", "timeframe", "side", "entry_price",
    "order_size", "replacement_count", "queued_at", "reason", "loss_percent", "signal_id",
}  # fmt: skip
RISK_FIELDS = {
    "group_id", "symbol", "loss_percent", "loss_usd", "timer_started_at", "timer_expires_at",
    "timer_remaining_seconds", "pyramids", "max_pyramids", "age_minutes", "age_ok", "eligible",
    "blocked", "skip_once", "reasons",
}  # fmt: skip
METRICS_FIELDS = {
    "realised_pnl", "unrealised_pnl", "win_rate", "closed_groups", "open_groups", "pool_used",
    "pool_max", "queue_length", "exposure_usd", "daily_realised_pnl",
}  # fmt: skip


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    """The document the app serves at /openapi.json (checked to be the same below)."""
    document: dict[str, Any] = build_sim_service().app.openapi()
    return document


async def test_the_served_document_is_the_one_checked(openapi: dict[str, Any]) -> None:
    async with build_sim_service().client() as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == openapi


def _schema(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _properties(document: dict[str, Any], name: str) -> set[str]:
    return set(document["components"]["schemas"][name]["properties"])


@pytest.mark.parametrize(("method", "path", "status"), CONTRACT_ROUTES)
def test_every_contract_route_has_a_json_response_schema(
    openapi: dict[str, Any], method: str, path: str, status: str
) -> None:
    operation = openapi["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    resolved = _schema(openapi, schema)
    assert resolved.get("type") in ("object", "array") or "properties" in resolved


def test_models_carry_the_contract_fields(openapi: dict[str, Any]) -> None:
    assert _properties(openapi, "GroupModel") >= GROUP_FIELDS
    assert _properties(openapi, "PyramidModel") >= PYRAMID_FIELDS
    assert _properties(openapi, "LegModel") >= LEG_FIELDS
    assert _properties(openapi, "QueueEntryModel") >= QUEUE_FIELDS
    assert _properties(openapi, "RiskGroupModel") >= RISK_FIELDS
    assert _properties(openapi, "MetricsModel") >= METRICS_FIELDS
    assert _properties(openapi, "WebhookResponse") == {
        "signal_id", "outcome", "reason", "group_id", "queue_id",
    }  # fmt: skip
    assert _properties(openapi, "PoolModel") >= {"used", "max", "groups"}
    assert _properties(openapi, "HealthModel") >= {"status", "exchanges", "database"}
    assert _properties(openapi, "PredictResponse") >= {
        "symbol", "action", "confidence", "predicted_return",
    }  # fmt: skip


def test_held_sellable_and_dust_quantities_are_documented(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    leg = schemas["LegModel"]
    group = schemas["GroupModel"]
    for name in ("base_fee_quantity", "sellable_quantity", "dust_quantity"):
        assert name in leg["required"]
        assert leg["properties"][name]["type"] == "string"
        assert leg["properties"][name]["description"]
    for name in ("sellable_quantity", "dust_quantity"):
        assert name in group["required"]
        assert group["properties"][name]["type"] == "string"
        assert group["properties"][name]["description"]


def test_webhook_errors_and_management_auth_are_documented(openapi: dict[str, Any]) -> None:
    webhook = openapi["paths"]["/webhooks/{user_id}"]["post"]["responses"]
    assert {"202", "401", "413", "422"} <= set(webhook)
    positions = openapi["paths"]["/positions"]["get"]["responses"]
    assert "401" in positions
    body = openapi["paths"]["/webhooks/{user_id}"]["post"]["requestBody"]
    payload = body["content"]["application/json"]["schema"]
    assert payload["properties"]["tv"]["required"] == ["exchange", "symbol", "timeframe", "action"]
    assert payload["properties"]["execution_intent"]["required"] == ["type"]
