"""Queue and risk routes: list with rank and reason, promote / force-add / remove, risk status
per group, the projected offset equal to what a run then does, manual controls."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.kit.service_builders import (
    AUTH,
    SEED_USER_FILE,
    SimService,
    build_sim_service,
    plan_payload,
)

# seed user: 3 slots; sizes chosen so every leg passes the Binance filters
ENTRIES = {
    "BTCUSDT": ("95992.3", "0.001"),  # 95.99 USDT
    "ETHUSDT": ("3394.0", "0.03"),  # 101.82 USDT
    "SOLUSDT": ("125.97", "0.8"),  # 100.78 USDT
    "DOGEUSDT": ("0.195", "500"),  # 97.50 USDT
    "XRPUSDT": ("1.874", "60"),  # 112.44 USDT
}


async def _signal(service: SimService, client: Any, symbol: str, **flags: Any) -> dict[str, Any]:
    price, size = ENTRIES[symbol]
    payload = plan_payload(
        service.user.webhook_secret,
        symbol=symbol,
        entry_price=price,
        close_price=price,
        order_size=size,
        **flags,
    )
    response = await client.post(f"/webhooks/{service.user.user_id}", json=payload)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_queue_lists_promotes_forces_and_removes() -> None:
    service = build_sim_service()
    async with service.client() as client:
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            assert (await _signal(service, client, symbol))["outcome"] == "opened"
        queued = await _signal(service, client, "DOGEUSDT")
        assert (queued["outcome"], queued["reason"]) == ("queued", "pool_full")
        [entry] = (await client.get("/queue", headers=AUTH)).json()
        assert entry["queue_id"] == queued["queue_id"]
        assert (entry["rank"], entry["symbol"], entry["reason"]) == (1, "DOGEUSDT", "pool_full")
        assert (entry["entry_price"], entry["order_size"]) == ("0.195", "500")
        assert entry["replacement_count"] == 0

        promoted = (await client.post(f"/queue/{entry['queue_id']}/promote", headers=AUTH)).json()
        assert promoted["outcome"] == "waiting"  # no free slot: it stays queued
        forced = (await client.post(f"/queue/{entry['queue_id']}/force-add", headers=AUTH)).json()
        assert (forced["action"], forced["outcome"]) == ("force_add", "opened")
        assert forced["group_id"] == "g4"
        pool = (await client.get("/pool", headers=AUTH)).json()
        assert (pool["used"], pool["max"]) == (4, 3)

        second = await _signal(service, client, "XRPUSDT")
        assert second["outcome"] == "queued"
        removed = await client.delete(f"/queue/{second['queue_id']}", headers=AUTH)
        assert removed.json()["outcome"] == "removed"
        assert (await client.get("/queue", headers=AUTH)).json() == []
        unknown = await client.post("/queue/qe999/promote", headers=AUTH)
    assert unknown.status_code == 404
    rows = {row.queue_id: row.status for row in service.store.list_queued_signals()}
    assert rows == {queued["queue_id"]: "promoted", second["queue_id"]: "removed"}
    # the promoted signal's stored outcome follows it out of the queue
    stored = service.store.get_signal(entry["signal_id"])
    assert stored is not None and (stored.outcome, stored.group_id) == ("opened", "g4")


async def test_risk_status_and_manual_controls() -> None:
    service = build_sim_service()
    async with service.client() as client:
        await _signal(service, client, "BTCUSDT")
        [row] = (await client.get("/risk", headers=AUTH)).json()
        assert row["group_id"] == "g1"
        assert (row["pyramids"], row["max_pyramids"]) == (1, 5)
        assert row["eligible"] is False
        assert "timer_not_started" in row["reasons"]
        assert row["age_ok"] is True  # the seed user's age filter is off
        blocked = (await client.post("/risk/g1/block", headers=AUTH)).json()
        assert (blocked["blocked"], blocked["skip_once"]) == (True, False)
        [row] = (await client.get("/risk", headers=AUTH)).json()
        assert "blocked" in row["reasons"]
        unblocked = (await client.post("/risk/g1/unblock", headers=AUTH)).json()
        assert unblocked["blocked"] is False
        skipped = (await client.post("/risk/g1/skip-once", headers=AUTH)).json()
        assert skipped["skip_once"] is True
        missing = await client.post("/risk/g9/block", headers=AUTH)
        plan = (await client.get("/risk/plan", headers=AUTH)).json()
        run = (await client.post("/risk/run", headers=AUTH)).json()
    assert missing.status_code == 404
    assert plan == {"user_id": service.user.user_id, "offset": None}
    assert run == {"actions": []}


def _quick_risk_config(tmp_path: Path) -> Path:
    """The seed user with the timer starting when every placed leg filled (no full-pyramid
    requirement) and no wait, so one group can become a loser in a short test; take-profit
    only as a far aggregate target, so the winner keeps its profit open."""
    config = json.loads(SEED_USER_FILE.read_text())
    config["risk_config"]["require_full_pyramids"] = False
    config["risk_config"]["post_full_wait_minutes"] = 0
    config["dca_grid_config"]["tp_mode"] = "aggregate"
    config["dca_grid_config"]["tp_aggregate_percent"] = 50
    path = tmp_path / "quick.json"
    path.write_text(json.dumps(config))
    return path


async def test_projected_offset_is_what_the_run_executes(tmp_path: Path) -> None:
    service = build_sim_service(config_file=_quick_risk_config(tmp_path))
    async with service.client() as client:
        await _signal(service, client, "BTCUSDT")  # g1, the loser to be
        await _signal(service, client, "ETHUSDT")  # g2, the winner to be
        # every BTC leg fills on the way down to 92000: the loser's timer starts
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "BTCUSDT", "price": "92000"}
        )
        await client.post(
            "/admin/price", json={"exchange": "binance", "symbol": "ETHUSDT", "price": "3800"}
        )
        rows = {r["group_id"]: r for r in (await client.get("/risk", headers=AUTH)).json()}
        plan = (await client.get("/risk/plan", headers=AUTH)).json()
        run = (await client.post("/risk/run", headers=AUTH)).json()
        actions = (await client.get("/risk/actions", headers=AUTH)).json()
    # loser: average of the three BTC legs (SPEC §4: 95368.344) against 92000:
    # (92000 - 95368.344) / 95368.344 × 100 = -3.53 % <= -3 %
    assert Decimal(rows["g1"]["loss_percent"]) < Decimal(-3)
    assert rows["g1"]["eligible"] is True, rows["g1"]
    offset = plan["offset"]
    assert offset is not None
    assert offset["loser_group_id"] == "g1"
    assert [w["group_id"] for w in offset["winners"]] == ["g2"]
    # the winner (0.0060 ETH from 3394.0, now 3800) covers at most 0.0060 × 405.9 = 2.4354
    # USD of the 3.3683 USD loss: the loser closes part of its 0.00100 BTC
    assert Decimal(0) < Decimal(offset["loser_close_quantity"]) < Decimal("0.00100")
    assert Decimal(offset["net_usd"]) >= 0
    [done] = run["actions"]
    assert actions == [done]
    same = ("loser_close_quantity", "covered_usd", "net_usd", "winners", "loser_loss_usd")
    assert {key: done[key] for key in same} == {key: offset[key] for key in same}
