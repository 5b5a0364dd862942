"""The runtime in live mode: the scheduler's cycle retries pending orders only after their
backoff, books fills the exchange reports, places their TPs; the snapshot keeps pending
commands across a restart."""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal

from engine.adapters.memory_store import MemoryStore
from engine.config import load_user_config
from engine.core import Engine
from engine.service.intake import WebhookIntake
from engine.service.runtime import SNAPSHOT_FORMAT, Runtime
from engine.service.scheduler import Scheduler
from engine.service.settings import ServiceSettings
from engine.service.users import create_user
from simulator.adapter import AsyncSimExchangeAdapter
from simulator.exchange import Simulator
from simulator.server import install_default_account
from tests.kit.service_builders import BALANCES, SEED_USER_FILE, plan_payload


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _no_sleep(_seconds: float) -> None:
    return None


def _live_runtime(sim: Simulator, store: MemoryStore, monotonic: FakeMonotonic) -> Runtime:
    api_key, _ = install_default_account(sim, dict(BALANCES))
    ports = {name: AsyncSimExchangeAdapter(sim, name, api_key) for name in ("binance", "bybit")}
    # backoff after the first failure: 10 s × (0.5 + u/2) with u from Random(0), in [5, 10] s
    settings = ServiceSettings(
        mode="live", api_token="t", retry_base_seconds=10.0, retry_max_seconds=10.0
    )
    return Runtime(
        Engine("t"),
        store,
        ports,
        sim,
        settings,
        rng=random.Random(0),
        sleep=_no_sleep,
        monotonic=monotonic,
    )


def _purposes(sim: Simulator) -> Counter[str]:
    api_key = next(iter(sim.venue("binance").accounts))
    orders = sim.venue("binance").all_orders(api_key)
    return Counter(order.client_order_id.split("-")[4] for order in orders)


async def test_scheduler_retries_after_backoff_and_books_fills() -> None:
    sim = Simulator(seed=0)
    store = MemoryStore()
    user = create_user(store, load_user_config(SEED_USER_FILE), now_ms=sim.now_ms())
    monotonic = FakeMonotonic()
    runtime = _live_runtime(sim, store, monotonic)
    await runtime.start()
    intake = WebhookIntake(runtime, max_body_bytes=65536)
    scheduler = Scheduler(runtime, interval_seconds=5, monotonic=monotonic)

    sim.faults.add("down", exchange="binance", endpoint="order.create", count=1)
    body = json.dumps(plan_payload(user.webhook_secret)).encode()
    answer = await intake.receive(user.user_id, body)
    assert (answer.status_code, answer.body["outcome"]) == (202, "opened")
    assert len(runtime.pending) == 1

    await scheduler.run_once()  # the backoff (at least 5 s) has not passed: nothing sent
    assert _purposes(sim) == Counter()
    monotonic.now += 11
    await scheduler.run_once()
    assert len(runtime.pending) == 0
    assert _purposes(sim) == Counter({"entry": 1, "dca": 2, "tp": 1})

    # the market trades through DCA leg 1 (95512.33); the next cycle books it and its TP
    sim.set_price("binance", "BTCUSDT", Decimal("95500"))
    await scheduler.run_once()
    group = runtime.engine.group("g1")
    assert group is not None
    leg = group.pyramids[0].legs[1]
    assert (leg.status, leg.filled_quantity) == ("filled", Decimal("0.00030"))
    assert _purposes(sim) == Counter({"entry": 1, "dca": 2, "tp": 2})
    assert scheduler.failures == 0
    await runtime.close()


async def test_pending_commands_are_in_the_snapshot() -> None:
    sim = Simulator(seed=0)
    store = MemoryStore()
    user = create_user(store, load_user_config(SEED_USER_FILE), now_ms=sim.now_ms())
    runtime = _live_runtime(sim, store, FakeMonotonic())
    await runtime.start()
    sim.faults.add("down", exchange="binance", endpoint="order.create", count=1)
    body = json.dumps(plan_payload(user.webhook_secret)).encode()
    await WebhookIntake(runtime, max_body_bytes=65536).receive(user.user_id, body)
    await runtime.close()  # writes what is not yet in a snapshot
    record = store.load_snapshot()
    assert record is not None
    assert record.data["format"] == SNAPSHOT_FORMAT
    [pending] = record.data["pending"]
    assert pending["command"]["client_order_id"] == "t-g1-p0-l0-entry-0"
    assert pending["command"]["kind"] == "place"
    assert pending["attempts"] == 1
