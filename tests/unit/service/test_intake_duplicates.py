"""Duplicate webhooks (SPEC §2): identical payloads (timestamp and secret aside) within the
user's window are ``duplicate`` and do nothing, also when they arrive at the same time and
when two runtimes (worker processes) share one database."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from engine.adapters.sql_store import SqlStore
from engine.api.app import create_app
from engine.core import Engine
from engine.service.coordination import FileStateLock
from engine.service.runtime import Runtime
from tests.kit.service_builders import SimService, build_sim_service, plan_payload


def _entries(service: SimService) -> list[str]:
    return [o.client_order_id for o in service.sim_orders() if "-entry-" in o.client_order_id]


async def test_two_identical_webhooks_at_once_make_one_group_and_one_duplicate() -> None:
    service = build_sim_service()
    payload = plan_payload(service.user.webhook_secret)
    async with service.client() as client:
        url = f"/webhooks/{service.user.user_id}"
        first, second = await asyncio.gather(
            client.post(url, json=payload), client.post(url, json=payload)
        )
    assert first.status_code == second.status_code == 202
    outcomes = sorted([first.json()["outcome"], second.json()["outcome"]])
    assert outcomes == ["duplicate", "opened"]
    # the duplicate names the group its original opened
    assert first.json()["group_id"] == second.json()["group_id"] == "g1"
    assert len(service.runtime.engine.groups()) == 1
    assert _entries(service) == ["t-g1-p0-l0-entry-0"]
    stored = sorted(s.outcome for s in service.store.list_signals())
    assert stored == ["duplicate", "opened"]


async def test_timestamp_and_secret_do_not_make_a_payload_new() -> None:
    service = build_sim_service()
    first = plan_payload(service.user.webhook_secret, timestamp="2026-01-01T00:00:00Z")
    second = plan_payload(service.user.webhook_secret, timestamp="2026-01-01T00:00:09Z")
    async with service.client() as client:
        url = f"/webhooks/{service.user.user_id}"
        a = (await client.post(url, json=first)).json()
        b = (await client.post(url, json=second)).json()
    assert (a["outcome"], b["outcome"]) == ("opened", "duplicate")


async def test_the_same_payload_after_the_window_is_a_new_pyramid() -> None:
    service = build_sim_service()
    payload = plan_payload(service.user.webhook_secret)
    async with service.client() as client:
        url = f"/webhooks/{service.user.user_id}"
        first = (await client.post(url, json=payload)).json()
        # the seed user's window is the default 30 s; 30 s later the claim has expired
        await client.post("/admin/advance", json={"seconds": "30"})
        second = (await client.post(url, json=payload)).json()
    assert first["outcome"] == "opened"
    assert second["outcome"] == "pyramid"
    assert second["group_id"] == first["group_id"]


def _worker(service: SimService, store: SqlStore, lock_path: Path) -> Runtime:
    return Runtime(
        Engine("t"),
        store,
        service.exchanges,
        service.sim,
        service.settings,
        state_lock=FileStateLock(lock_path),
        rng=random.Random(0),
    )


async def test_two_runtimes_sharing_a_database_see_one_group(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = SqlStore(url, data_dir=tmp_path)
    service = build_sim_service(store=store)
    other_store = SqlStore(url, data_dir=tmp_path, migrate=False)
    lock = tmp_path / "engine.lock"
    one = _worker(service, store, lock)
    two = _worker(service, other_store, lock)
    app_one = create_app(one, service.settings)
    app_two = create_app(two, service.settings)
    payload = plan_payload(service.user.webhook_secret)
    try:
        async with (
            SimService(
                service.sim,
                store,
                one,
                service.settings,
                service.user,
                service.api_key,
                service.exchanges,
                app_one,
            ).client() as c1,
            SimService(
                service.sim,
                other_store,
                two,
                service.settings,
                service.user,
                service.api_key,
                service.exchanges,
                app_two,
            ).client() as c2,
        ):
            path = f"/webhooks/{service.user.user_id}"
            a, b = await asyncio.gather(c1.post(path, json=payload), c2.post(path, json=payload))
            assert sorted([a.json()["outcome"], b.json()["outcome"]]) == ["duplicate", "opened"]
            # a different signal through the other worker sees the first worker's group
            exit_payload = plan_payload(
                service.user.webhook_secret, kind="exit", action="sell", side=None
            )
            loser = c2 if a.json()["outcome"] == "opened" else c1
            exited = (await loser.post(path, json=exit_payload)).json()
        assert exited["outcome"] == "exited"
        assert exited["group_id"] == "g1"
        assert _entries(service) == ["t-g1-p0-l0-entry-0"]
    finally:
        other_store.close()
        store.close()
