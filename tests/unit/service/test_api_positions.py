"""Management routes over a service in sim mode: bearer guard, positions, pool, orders,
metrics, close, health."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.kit.service_builders import AUTH, SimService, build_sim_service, plan_payload

# SPEC §4 worked example (seed grid 0/-0.5/-1 %, weights 20/30/50 %, TP 1/1/2 %; Binance
# BTCUSDT tick 0.01, step 0.00001; order size 0.001 at 95992.3, leg 0 fills at 95992.30):
# C = 0.001 × 95992.3 = 95.9923
# leg 0: 95.9923 × 0.20 / 95992.3 = 0.0002 -> 0.00020; TP 95992.30 × 1.01 = 96952.223 -> 96952.22
# leg 1: 95992.30 × 0.995 = 95512.3385 -> 95512.33; 95.9923 × 0.30 / 95512.33 = 0.0003015 -> 0.00030
# leg 2: 95992.30 × 0.99 = 95032.377 -> 95032.37; 95.9923 × 0.50 / 95032.37 = 0.000505 -> 0.00050
LEG_PRICES = [None, "95512.33", "95032.37"]
LEG_QUANTITIES = ["0.00020", "0.00030", "0.00050"]


@pytest.fixture
def service() -> SimService:
    return build_sim_service()


async def _open(service: SimService, client: Any, **flags: Any) -> dict[str, Any]:
    payload = plan_payload(service.user.webhook_secret, **flags)
    response = await client.post(f"/webhooks/{service.user.user_id}", json=payload)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_management_routes_need_the_bearer_token(service: SimService) -> None:
    async with service.client() as client:
        missing = await client.get("/positions")
        wrong = await client.get("/positions", headers={"Authorization": "Bearer nope"})
        health = await client.get("/health")
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["detail"][0]["code"] == "unauthorized"
    assert health.status_code == 200


async def test_positions_show_the_spec_worked_example(service: SimService) -> None:
    async with service.client() as client:
        opened = await _open(service, client)
        groups = (await client.get("/positions", headers=AUTH)).json()
        one = (await client.get(f"/positions/{opened['group_id']}", headers=AUTH)).json()
    assert opened["outcome"] == "opened"
    [group] = groups
    assert group == one
    assert (group["exchange"], group["symbol"], group["timeframe"], group["side"]) == (
        "binance",
        "BTCUSDT",
        60,
        "long",
    )
    assert group["status"] == "partially_filled"
    assert (group["pyramid_count"], group["max_pyramids"]) == (1, 5)
    [pyramid] = group["pyramids"]
    assert pyramid["capital"] == "95.9923"
    assert pyramid["leg0_fill_price"] == "95992.30"
    legs = pyramid["legs"]
    assert [leg["price"] for leg in legs] == LEG_PRICES
    assert [leg["quantity"] for leg in legs] == LEG_QUANTITIES
    assert [leg["status"] for leg in legs] == ["filled", "resting", "resting"]
    assert legs[0]["tp_price"] == "96952.22"
    assert {leg["side"] for leg in legs} == {"buy"}
    assert group["average_entry"] == "95992.30"
    # leg 0's buy pays the 0.1 % taker fee in BTC: 0.00020 × 0.001 = 0.0000002 BTC, so the
    # group holds 0.00020 - 0.0000002 = 0.0001998 BTC (shown to 8 places)
    assert group["open_quantity"] == "0.00019980"
    # whole steps of 0.00001 in 0.0001998: 0.00019 sellable, 0.0001998 - 0.00019 = 0.0000098 dust
    names = ("base_fee_quantity", "open_quantity", "sellable_quantity", "dust_quantity")
    assert [tuple(Decimal(leg[name]) for name in names) for leg in legs] == [
        (Decimal("0.0000002"), Decimal("0.0001998"), Decimal("0.00019"), Decimal("0.0000098")),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
    ]
    assert Decimal(group["sellable_quantity"]) == Decimal("0.00019")
    assert Decimal(group["dust_quantity"]) == Decimal("0.0000098")


async def test_status_filter_and_unknown_group(service: SimService) -> None:
    async with service.client() as client:
        await _open(service, client)
        closed = (await client.get("/positions", headers=AUTH, params={"status": "closed"})).json()
        every = (await client.get("/positions", headers=AUTH, params={"status": "all"})).json()
        bad = await client.get("/positions", headers=AUTH, params={"status": "nope"})
        missing = await client.get("/positions/g999", headers=AUTH)
    assert closed == []
    assert [g["group_id"] for g in every] == ["g1"]
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "status"
    assert missing.status_code == 404
    assert missing.json()["detail"][0] == {
        "field": "group_id",
        "message": "no group 'g999'",
        "code": "unknown_group",
    }


async def test_pool_orders_and_metrics(service: SimService) -> None:
    async with service.client() as client:
        await _open(service, client)
        pool = (await client.get("/pool", headers=AUTH)).json()
        orders = (await client.get("/orders", headers=AUTH)).json()
        resting = (await client.get("/orders", headers=AUTH, params={"status": "open"})).json()
        metrics = (await client.get("/metrics", headers=AUTH)).json()
    assert pool == {"user_id": service.user.user_id, "used": 1, "max": 3, "groups": ["g1"]}
    purposes = sorted(order["purpose"] for order in orders)
    assert purposes == ["dca", "dca", "entry", "tp"]
    # the two DCA legs and leg 0's take-profit rest on the exchange
    assert sorted((o["purpose"], o["price"]) for o in resting) == [
        ("dca", "95032.37"),
        ("dca", "95512.33"),
        ("tp", "96952.22"),
    ]
    assert metrics["pool_used"] == 1
    assert metrics["pool_max"] == 3
    assert metrics["open_groups"] == 1
    assert metrics["closed_groups"] == 0
    assert metrics["win_rate"] is None
    # committed capital = cost of the held quantity + resting entry notional; leg 0 holds
    # 0.00020 - 0.00020 × 0.001 (taker fee paid in BTC) = 0.0001998 BTC:
    # 0.0001998 × 95992.30 + 0.00030 × 95512.33 + 0.00050 × 95032.37
    # = 19.17926154 + 28.653699 + 47.516185 = 95.34914554
    expected = (
        Decimal("0.0001998") * Decimal("95992.30")
        + Decimal("0.00030") * Decimal("95512.33")
        + Decimal("0.00050") * Decimal("95032.37")
    )
    assert Decimal(metrics["exposure_usd"]) == expected


async def test_close_cancels_resting_orders_and_market_sells(service: SimService) -> None:
    async with service.client() as client:
        await _open(service, client)
        closed = await client.post("/positions/g1/close", headers=AUTH)
        again = await client.post("/positions/g1/close", headers=AUTH)
        group = (await client.get("/positions/g1", headers=AUTH)).json()
    assert closed.status_code == 200
    assert closed.json() == {"group_id": "g1", "status": "closed"}
    assert again.status_code == 422
    assert again.json()["detail"][0]["code"] == "not_open"
    assert group["status"] == "closed"
    # leg 0 holds 0.00020 - 0.0000002 (taker fee paid in BTC) = 0.0001998 BTC; the exit sells
    # whole steps of 0.00001: 0.00019 BTC, leaving 0.0001998 - 0.00019 = 0.0000098 BTC of dust,
    # which the closed group shows as its open quantity
    assert Decimal(group["open_quantity"]) == Decimal("0.0000098")
    assert Decimal(group["dust_quantity"]) == Decimal("0.0000098")
    on_exchange = {o.client_order_id: o.status.value for o in service.sim_orders()}
    assert on_exchange["t-g1-p0-l1-dca-0"] == "CANCELED"
    assert on_exchange["t-g1-p0-l2-dca-0"] == "CANCELED"
    exits = [cid for cid in on_exchange if "-exit-" in cid]
    assert len(exits) == 1
    assert on_exchange[exits[0]] == "FILLED"


async def test_health_is_public_and_has_no_secrets(service: SimService) -> None:
    async with service.client() as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "ok"
    assert body["exchanges"] == {"binance": "ok", "bybit": "ok"}
    assert body["database"] == "ok"
    assert body["mode"] == "sim"
    text = str(body)
    assert service.user.webhook_secret not in text
    assert "test-token" not in text


async def test_a_signal_without_entry_price_uses_the_exchanges_last_price(
    service: SimService,
) -> None:
    async with service.client() as client:
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": "96000"}
        )
        opened = await _open(service, client, entry_price=None, close_price=None)
        group = (await client.get(f"/positions/{opened['group_id']}", headers=AUTH)).json()
    assert opened["outcome"] == "opened"
    [pyramid] = group["pyramids"]
    # capital = order size × last price = 0.001 × 96000 = 96.000; leg 0: 96 × 20 % / 96000
    assert Decimal(pyramid["entry_price"]) == Decimal(96000)
    assert Decimal(pyramid["capital"]) == Decimal(96)
    assert pyramid["legs"][0]["quantity"] == "0.00020"


async def test_a_usdt_only_account_can_sell_leg_0s_take_profit(service: SimService) -> None:
    async with service.client() as client:
        await _open(service, client)
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": "97000"}
        )
        group = (await client.get("/positions/g1", headers=AUTH)).json()
        orders = (await client.get("/orders", headers=AUTH)).json()
    account = service.sim.venue("binance").account(service.api_key)
    [tp] = [order for order in orders if order["purpose"] == "tp"]
    # the account started with USDT only; leg 0 bought 0.00020 BTC and paid 0.0000002 BTC fee,
    # so it holds 0.0001998 BTC; the TP sells the whole steps of 0.00001 of it: 0.00019
    assert (tp["status"], Decimal(tp["quantity"]), tp["price"]) == (
        "filled",
        Decimal("0.00019"),
        "96952.22",
    )
    # 0.0001998 - 0.00019 = 0.0000098 BTC left on the account and in the group, below one step
    assert account.free("BTC") == Decimal("0.0000098")
    leg0 = group["pyramids"][0]["legs"][0]
    assert Decimal(leg0["open_quantity"]) == Decimal("0.0000098")
    assert Decimal(leg0["dust_quantity"]) == Decimal("0.0000098")
    assert Decimal(leg0["sellable_quantity"]) == 0
    # per_leg: the DCA legs still rest, so the group stays open
    assert group["status"] == "partially_filled"
    # realised = TP proceeds - cost of what it sold - entry fee (in BTC, valued at the fill) -
    # TP fee (USDT, maker 0.1 %):
    # 0.00019 × 96952.22 = 18.4209218; 0.00019 × 95992.30 = 18.238537;
    # 0.0000002 × 95992.30 = 0.01919846; 18.4209218 × 0.001 = 0.0184209218
    # 18.4209218 - 18.238537 - 0.01919846 - 0.0184209218 = 0.1447654182
    assert Decimal(leg0["realised_pnl"]) == Decimal("0.1447654182")
    # fees: 0.01919846 + 0.0184209218 = 0.0376193818
    assert Decimal(leg0["fees"]) == Decimal("0.0376193818")


async def test_the_signal_take_profit_closes_a_group_whose_dca_legs_still_rest(
    service: SimService,
) -> None:
    # helper L's repro: SOLUSDT, 100 USDT quote-sized at the seed price 125.97, risk.take_profit
    # 127.61, then the price to 128. Leg 0: 100 × 0.20 / 125.97 = 0.15877 -> 0.158 SOL, fee
    # 0.158 × 0.001 = 0.000158 SOL, held 0.157842; its TP (125.97 × 1.01 = 127.2297 -> 127.22)
    # sells 0.157 and leaves 0.000842 below the step 0.001; 128 >= 127.61 ends the group.
    payload = plan_payload(
        service.user.webhook_secret,
        symbol="SOLUSDT",
        entry_price="125.97",
        close_price="125.97",
        order_size="100",
    )
    payload["execution_intent"]["position_size_type"] = "quote"
    payload["risk"] = {"take_profit": "127.61"}
    async with service.client() as client:
        opened = await client.post(f"/webhooks/{service.user.user_id}", json=payload)
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "SOLUSDT", "price": "128"}
        )
        group = (await client.get(f"/positions/{opened.json()['group_id']}", headers=AUTH)).json()
        pool = (await client.get("/pool", headers=AUTH)).json()
    assert opened.json()["outcome"] == "opened"
    assert (group["status"], group["close_reason"]) == ("closed", "aggregate_take_profit")
    assert Decimal(group["dust_quantity"]) == Decimal("0.000842")
    assert (pool["used"], pool["groups"]) == (0, [])
    on_exchange = {o.client_order_id: o.status.value for o in service.sim_orders(symbol="SOLUSDT")}
    assert on_exchange["t-g1-p0-l1-dca-0"] == on_exchange["t-g1-p0-l2-dca-0"] == "CANCELED"
    assert on_exchange["t-g1-p0-l0-tp-0"] == "FILLED"
    assert not [cid for cid in on_exchange if "-atp-" in cid or "-exit-" in cid]
    account = service.sim.venue("binance").account(service.api_key)
    assert account.free("SOL") == Decimal("0.000842")
