"""Faults from the simulator during entries and exits (SPEC §10): the right outcome or a
retry, an alert event, and afterwards exactly the orders that should exist, counted on the
simulator's side."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from engine.domain import Category, Severity
from engine.store import EventQuery
from tests.kit.service_builders import AUTH, SimService, build_sim_service, plan_payload

USER_PRICE = {"exchange": "binance", "symbol": "BTCUSDT"}


def _purposes(service: SimService) -> Counter[str]:
    """How many orders of each purpose the simulator holds (client ids name the purpose)."""
    return Counter(order.client_order_id.split("-")[4] for order in service.sim_orders())


def _alerts(service: SimService) -> list[Any]:
    events = service.store.query_events(EventQuery(category=Category.ERROR))
    return [e for e in events if e.severity in (Severity.ERROR, Severity.CRITICAL)]


async def _fault(client: httpx.AsyncClient, **fault: Any) -> None:
    response = await client.post("/admin/faults", json={"exchange": "binance", **fault})
    assert response.status_code == 200, response.text


async def _webhook(service: SimService, client: httpx.AsyncClient, **flags: Any) -> dict[str, Any]:
    payload = plan_payload(service.user.webhook_secret, **flags)
    response = await client.post(f"/webhooks/{service.user.user_id}", json=payload)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def _health(client: httpx.AsyncClient) -> dict[str, str]:
    body: dict[str, str] = (await client.get("/health")).json()["exchanges"]
    return body


async def test_exchange_down_during_entry_keeps_the_order_pending_then_sends_it_once() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _fault(client, kind="down", endpoint="order.create", count=1)
        opened = await _webhook(service, client)
        assert opened["outcome"] == "opened"
        assert _purposes(service) == Counter()  # nothing reached the exchange
        [order] = (await client.get("/orders", headers=AUTH)).json()
        assert (order["purpose"], order["status"]) == ("entry", "pending")
        assert (await _health(client))["binance"] == "disconnected"
        assert [a.message for a in _alerts(service)] == ["Exchange unavailable"]
        # the exchange is back: the next sync looks the order up by client id, then sends it
        await client.post("/admin/advance", json={"seconds": "1"})
        assert (await _health(client))["binance"] == "ok"
        group = (await client.get("/positions/g1", headers=AUTH)).json()
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})
    assert group["status"] == "partially_filled"
    assert group["pyramids"][0]["legs"][0]["status"] == "filled"


async def test_rate_limit_during_entry_waits_retry_after_and_sends_once() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _fault(client, kind="rate_limit", endpoint="order.create", count=1, retry_after_s=1)
        opened = await _webhook(service, client)
    assert opened["outcome"] == "opened"
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})
    warnings = service.store.query_events(EventQuery(severity=Severity.WARNING))
    assert any(e.message.startswith("Exchange rate limit hit") for e in warnings)
    entries = [o for o in service.store.list_orders() if o.purpose.value == "entry"]
    assert [o.status.value for o in entries] == ["filled"]


async def test_bad_keys_mark_the_account_and_reject_signals_until_it_answers_again() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _fault(client, kind="bad_keys", endpoint="order.create", count=1)
        first = await _webhook(service, client)
        group = (await client.get("/positions/g1", headers=AUTH)).json()
        assert (await _health(client))["binance"] == "auth_failed"
        second = await _webhook(
            service, client, symbol="ETHUSDT", entry_price="3394.0", order_size="0.03"
        )
        alerts = _alerts(service)
        assert _purposes(service) == Counter()
        # the fault is spent: the next sync's signed probe succeeds and the account is ok
        # again (30 s on, so the repeated ETH payload is past the duplicate window)
        await client.post("/admin/advance", json={"seconds": "30"})
        third = await _webhook(
            service, client, symbol="ETHUSDT", entry_price="3394.0", order_size="0.03"
        )
        health = await _health(client)
    assert first["outcome"] == "opened"
    assert group["status"] == "failed"
    assert (second["outcome"], second["reason"]) == ("rejected", "exchange_auth_failed")
    critical = [a for a in alerts if a.severity is Severity.CRITICAL]
    assert [a.data["reason"] for a in critical] == ["exchange_auth_failed"]
    assert third["outcome"] == "opened"
    assert health["binance"] == "ok"
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})


async def test_response_lost_on_entry_is_found_by_client_id_not_sent_twice() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _fault(client, kind="response_lost", count=1)
        opened = await _webhook(service, client)
        # the order exists on the exchange, the service does not know yet
        assert _purposes(service) == Counter({"entry": 1})
        await client.post("/admin/advance", json={"seconds": "1"})
        group = (await client.get("/positions/g1", headers=AUTH)).json()
    assert opened["outcome"] == "opened"
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})
    assert group["pyramids"][0]["legs"][0]["status"] == "filled"
    entry = [o for o in service.sim_orders() if "-entry-" in o.client_order_id]
    assert len(entry) == 1


async def test_missing_metadata_queues_the_signal_until_a_refresh_completes_it() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _fault(client, kind="metadata_missing", symbol="BTCUSDT")
        refreshed = (
            await client.post("/precision/refresh", headers=AUTH, params={"symbol": "BTCUSDT"})
        ).json()
        queued = await _webhook(service, client)
        precision = await client.get("/events", headers=AUTH, params={"category": "precision"})
        assert _purposes(service) == Counter()
        await client.delete("/admin/faults")
        await client.post("/precision/refresh", headers=AUTH)
        queue = (await client.get("/queue", headers=AUTH)).json()
        groups = (await client.get("/positions", headers=AUTH)).json()
    binance = next(row for row in refreshed["exchanges"] if row["exchange"] == "binance")
    assert (binance["known"], binance["complete"]) == (True, False)
    assert (queued["outcome"], queued["reason"]) == ("queued", "precision_missing")
    assert any(e["severity"] == "error" for e in precision.json())
    assert queue == []
    assert [g["symbol"] for g in groups] == ["BTCUSDT"]
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})


async def test_exchange_down_during_exit_retries_cancels_and_closes_once() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _webhook(service, client)
        await _fault(client, kind="down", endpoint="order.cancel", count=3)
        exited = await _webhook(
            service, client, kind="exit", action="sell", side=None, order_size="0"
        )
        closing = (await client.get("/positions/g1", headers=AUTH)).json()
        assert _alerts(service)
        for _ in range(3):
            await client.post("/admin/advance", json={"seconds": "1"})
        group = (await client.get("/positions/g1", headers=AUTH)).json()
    assert exited["outcome"] == "exited"
    assert closing["status"] == "closing"
    assert group["status"] == "closed"
    statuses = {o.client_order_id: o.status.value for o in service.sim_orders()}
    assert statuses["t-g1-p0-l1-dca-0"] == statuses["t-g1-p0-l2-dca-0"] == "CANCELED"
    counts = _purposes(service)
    assert counts["exit"] == 1
    assert counts["entry"] == 1


async def test_response_lost_on_the_exit_order_closes_exactly_once() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _webhook(service, client)
        await _fault(client, kind="response_lost", count=1)
        await client.post("/positions/g1/close", headers=AUTH)
        await client.post("/admin/advance", json={"seconds": "1"})
        group = (await client.get("/positions/g1", headers=AUTH)).json()
    assert group["status"] == "closed"
    assert _purposes(service)["exit"] == 1


async def test_rate_limit_during_exit_waits_and_closes_at_once() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _webhook(service, client)
        await _fault(client, kind="rate_limit", endpoint="order.cancel", count=1, retry_after_s=1)
        closed = (await client.post("/positions/g1/close", headers=AUTH)).json()
    assert closed == {"group_id": "g1", "status": "closed"}
    counts = _purposes(service)
    assert (counts["entry"], counts["exit"]) == (1, 1)


async def test_bad_keys_during_exit_alert_then_the_exit_completes_once_keys_work() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _webhook(service, client)
        await _fault(client, kind="bad_keys", endpoint="order.cancel", count=1)
        await client.post("/positions/g1/close", headers=AUTH)
        await client.post("/admin/advance", json={"seconds": "1"})
        group = (await client.get("/positions/g1", headers=AUTH)).json()
        health = await _health(client)
    assert [a.data["reason"] for a in _alerts(service) if a.severity is Severity.CRITICAL] == [
        "exchange_auth_failed"
    ]
    # the refused cancel is sent again once signed calls work: both DCA legs end cancelled
    statuses = {o.client_order_id: o.status.value for o in service.sim_orders()}
    assert statuses["t-g1-p0-l1-dca-0"] == statuses["t-g1-p0-l2-dca-0"] == "CANCELED"
    assert group["status"] == "closed"
    assert health["binance"] == "ok"
    counts = _purposes(service)
    assert (counts["entry"], counts["exit"]) == (1, 1)
