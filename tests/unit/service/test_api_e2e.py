"""The e2e flow's routes: predict (momentum baseline), place, order, positions."""

from __future__ import annotations

from decimal import Decimal

from tests.kit.service_builders import AUTH, build_sim_service


async def test_predict_is_the_documented_momentum_baseline() -> None:
    service = build_sim_service()
    body = {"symbol": "BTCUSDT", "exchange": "binance"}
    async with service.client() as client:
        first = (await client.post("/signals/predict", headers=AUTH, json=body)).json()
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": "97000"}
        )
        second = (await client.post("/signals/predict", headers=AUTH, json=body)).json()
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": "95000"}
        )
        third = (await client.post("/signals/predict", headers=AUTH, json=body)).json()
        missing = await client.post(
            "/signals/predict", headers=AUTH, json={"symbol": "NOPEUSDT", "exchange": "binance"}
        )
    # one observation (the seed price 95992.3): no information
    assert first["action"] == "buy"
    assert (Decimal(first["confidence"]), Decimal(first["predicted_return"])) == (
        Decimal("0.5"),
        Decimal(0),
    )
    # 95992.3 then 97000: mean 96496.15; (97000 - 96496.15) / 96496.15 = 0.005221... -> buy,
    # confidence 0.5 + 50 × 0.00522145 = 0.76107 -> 0.7611 (capped at 0.95)
    change = (Decimal(97000) - Decimal("96496.15")) / Decimal("96496.15")
    assert Decimal(second["predicted_return"]) == change.quantize(Decimal("0.00000001"))
    assert second["action"] == "buy"
    assert Decimal(second["confidence"]) == (
        Decimal("0.5") + 50 * abs(change.quantize(Decimal("0.00000001")))
    ).quantize(Decimal("0.0001"))
    # then 95000: mean of three = 95997.433...; below the mean -> sell
    assert third["action"] == "sell"
    assert Decimal(third["predicted_return"]) < 0
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["field"] == "symbol"


async def test_place_then_read_the_order_and_the_position() -> None:
    service = build_sim_service()
    trade = {"symbol": "ETHUSDT", "side": "buy", "order_size": "0.03", "entry_price": "3394.0"}
    async with service.client() as client:
        placed = (await client.post("/trades/place", headers=AUTH, json=trade)).json()
        order = (await client.get(f"/trades/order/{placed['order_id']}", headers=AUTH)).json()
        positions = (await client.get("/trades/positions", headers=AUTH)).json()
        bad_side = await client.post(
            "/trades/place", headers=AUTH, json={**trade, "side": "sideways"}
        )
        unknown = await client.get("/trades/order/nope", headers=AUTH)
    assert (placed["outcome"], placed["trade_id"], placed["status"]) == (
        "opened",
        "g1",
        "partially_filled",
    )
    assert placed["order_id"] == "t-g1-p0-l0-entry-0"
    assert (order["status"], order["purpose"], order["side"]) == ("filled", "entry", "buy")
    # leg 0: 0.03 × 3394.0 = 101.82 USDT × 20 % / 3394.0 = 0.006 ETH
    assert Decimal(order["filled_quantity"]) == Decimal("0.006")
    [position] = positions
    assert (position["trade_id"], position["symbol"], position["side"]) == ("g1", "ETHUSDT", "long")
    # Binance spot buys pay the 0.1 % taker fee in ETH: 0.006 × 0.001 = 0.000006 ETH, so the
    # position holds 0.006 - 0.000006 = 0.005994 ETH
    assert Decimal(position["quantity"]) == Decimal("0.005994")
    # leg 0's TP: 3394.00 × 1.01 = 3427.94
    assert position["take_profit_prices"] == ["3427.94"]
    assert bad_side.status_code == 422
    assert unknown.status_code == 404
