"""Group commit of snapshots: webhooks arriving together share snapshot writes, and none is
answered before a stored snapshot holds its signal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engine.adapters.memory_store import MemoryStore
from tests.kit.service_builders import build_sim_service, plan_payload

SYMBOLS = ("ETHUSDT", "SOLUSDT", "DOTUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
TIMEFRAMES = ("15", "60")


class _SnapshotLog(MemoryStore):
    """A memory store that keeps the text of every snapshot written."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[str] = []

    def save_snapshot(self, data: dict[str, Any], at_ms: int) -> None:
        super().save_snapshot(data, at_ms)
        self.saved.append(json.dumps(data, default=str))


def _quote_sized(payload: dict[str, Any]) -> dict[str, Any]:
    payload["tv"]["order_size"] = "100"
    payload["tv"].pop("close_price", None)
    payload["execution_intent"]["position_size_type"] = "quote"
    return payload


async def test_concurrent_signals_share_snapshots_and_wait_for_theirs() -> None:
    store = _SnapshotLog()
    service = build_sim_service(store=store)
    secret = service.user.webhook_secret
    payloads = [
        _quote_sized(plan_payload(secret, symbol=symbol, timeframe=timeframe, entry_price=None))
        for timeframe in TIMEFRAMES
        for symbol in SYMBOLS
    ]
    late: list[str] = []

    async with service.client() as client:
        # the first signal for each market fetches its price; do that once up front
        await client.post(
            f"/webhooks/{service.user.user_id}", json=plan_payload(secret, timeframe="1")
        )
        before = len(store.saved)

        async def send(payload: dict[str, Any]) -> dict[str, Any]:
            response = await client.post(f"/webhooks/{service.user.user_id}", json=payload)
            body: dict[str, Any] = response.json()
            if not any(body["signal_id"] in text for text in store.saved):
                late.append(body["signal_id"])
            return body

        bodies = await asyncio.gather(*(send(payload) for payload in payloads))

    outcomes = sorted(body["outcome"] for body in bodies)
    # pool of 3, one taken by the BTCUSDT 1-minute group: the first 2 open, the other 10 queue
    assert outcomes == ["opened"] * 2 + ["queued"] * 10
    assert late == []
    # 12 signals: the 2 that open orders snapshot before sending them; the 10 queued ones
    # share end-of-run snapshots instead of writing one each
    written = len(store.saved) - before
    assert written < len(payloads)
