"""Restart (SPEC §10, §11): stop the service after orders are placed, let the path fill some
of them, start again over the same database: fills booked, TPs placed, nothing sent twice."""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal
from pathlib import Path

from engine.adapters.sql_store import SqlStore
from tests.kit.service_builders import AUTH, SimService, build_sim_service, plan_payload


def _purposes(service: SimService) -> Counter[str]:
    return Counter(order.client_order_id.split("-")[4] for order in service.sim_orders())


def _restart(service: SimService, tmp_path: Path, url: str) -> SimService:
    """Close the store (the process stops) and build a new runtime and app on a fresh
    connection to the same database and the same (still running) exchange."""
    service.store.close()
    store = SqlStore(url, data_dir=tmp_path)
    return dataclasses.replace(service, store=store).rebuild()


async def test_fills_while_down_are_booked_and_their_tps_placed_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qtrade.db'}"
    service = build_sim_service(store=SqlStore(url, data_dir=tmp_path))
    async with service.client() as client:
        payload = plan_payload(service.user.webhook_secret)
        opened = (await client.post(f"/webhooks/{service.user.user_id}", json=payload)).json()
    assert opened["outcome"] == "opened"
    assert _purposes(service) == Counter({"entry": 1, "dca": 2, "tp": 1})

    # while the service is down the market trades through DCA leg 1 (95512.33), not leg 2
    service.sim.set_price("binance", "BTCUSDT", Decimal("95500"))
    statuses = {o.client_order_id: o.status.value for o in service.sim_orders()}
    assert statuses["t-g1-p0-l1-dca-0"] == "FILLED"
    assert statuses["t-g1-p0-l2-dca-0"] == "NEW"

    restarted = _restart(service, tmp_path, url)
    try:
        async with restarted.client() as client:
            group = (await client.get("/positions/g1", headers=AUTH)).json()
            orders = (await client.get("/orders", headers=AUTH)).json()
    finally:
        restarted.store.close()
    legs = group["pyramids"][0]["legs"]
    assert [leg["status"] for leg in legs] == ["filled", "filled", "resting"]
    assert legs[1]["average_fill_price"] == "95512.33"
    # leg 1's TP: 95512.33 × 1.01 = 96467.4533 -> 96467.45 (SPEC §4)
    assert legs[1]["tp_price"] == "96467.45"
    # each buy pays 0.1 % of its quantity in BTC, so the legs hold 0.00020 × 0.999 = 0.0001998
    # and 0.00030 × 0.999 = 0.0002997: 0.0004995 in all. The average of the held quantity:
    # (0.0001998 × 95992.30 + 0.0002997 × 95512.33) / 0.0004995 (both legs scaled by 0.999)
    #   = (0.00020 × 95992.30 + 0.00030 × 95512.33) / 0.00050
    #   = (19.198460 + 28.653699) / 0.00050 = 95704.318
    assert Decimal(group["average_entry"]) == Decimal("95704.318")
    assert Decimal(group["open_quantity"]) == Decimal("0.0004995")
    # exactly the orders that should exist: one entry, two DCA legs, one TP per filled leg
    assert _purposes(restarted) == Counter({"entry": 1, "dca": 2, "tp": 2})
    tp_prices = sorted(o.price for o in restarted.sim_orders() if "-tp-" in o.client_order_id)
    assert tp_prices == [Decimal("96467.45"), Decimal("96952.22")]
    client_ids = [o.client_order_id for o in restarted.sim_orders()]
    assert len(client_ids) == len(set(client_ids))
    assert sorted(o["client_order_id"] for o in orders) == sorted(client_ids)


async def test_a_pending_order_survives_the_restart_and_is_sent_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'qtrade.db'}"
    service = build_sim_service(store=SqlStore(url, data_dir=tmp_path))
    async with service.client() as client:
        await client.post(
            "/admin/faults",
            json={"kind": "down", "exchange": "binance", "endpoint": "order.create", "count": 1},
        )
        payload = plan_payload(service.user.webhook_secret)
        opened = (await client.post(f"/webhooks/{service.user.user_id}", json=payload)).json()
    assert opened["outcome"] == "opened"
    assert _purposes(service) == Counter()

    restarted = _restart(service, tmp_path, url)
    try:
        async with restarted.client() as client:
            group = (await client.get("/positions/g1", headers=AUTH)).json()
    finally:
        restarted.store.close()
    assert group["pyramids"][0]["legs"][0]["status"] == "filled"
    assert _purposes(restarted) == Counter({"entry": 1, "dca": 2, "tp": 1})
