"""``qtrade serve``'s composition root in sim mode: the simulator's REST faces and admin API on
the same app, the token announced once, the realtime clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from qtrade.commands.serve import ServeOptions, build_service
from tests.kit.service_builders import SEED_USER_FILE


def _options(tmp_path: Path, **overrides: object) -> ServeOptions:
    return ServeOptions(
        data_dir=str(tmp_path),
        db=f"sqlite:///{tmp_path / 'q.db'}",
        users=(str(SEED_USER_FILE),),
        namespace="t",
        **overrides,  # type: ignore[arg-type]
    )


async def test_sim_mode_serves_the_exchange_faces_and_admin_on_the_same_app(
    tmp_path: Path,
) -> None:
    service = build_service(_options(tmp_path), environ={})
    assert service.token.created  # first start: generated, to be printed once
    again = build_service(_options(tmp_path), environ={})
    assert not again.token.created
    assert again.token.value == service.token.value
    assert (tmp_path / "api_token").stat().st_mode & 0o777 == 0o600
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        ping = await client.get("/api/v3/ping")
        bybit = await client.get("/v5/market/time")
        orders = await client.get("/admin/orders")
        health = await client.get("/health")
    assert ping.status_code == bybit.status_code == orders.status_code == 200
    assert health.json()["mode"] == "sim"
    assert service.store.get_user("e7d6ae10-2a7d-4383-90d3-461c986e1e71") is not None
    service.store.close()
    again.store.close()


async def test_realtime_clock_follows_wall_time(tmp_path: Path) -> None:
    service = build_service(_options(tmp_path, realtime=True), environ={})
    start = service.simulator.clock_ms
    async with service.app.router.lifespan_context(service.app):
        await asyncio.sleep(1.3)
    elapsed = service.simulator.clock_ms - start
    service.store.close()
    # the driver advances once per second by the wall time since its last step
    assert 900 <= elapsed <= 1_500


def test_settle_heap_freezes_the_start_up_objects_out_of_the_collector() -> None:
    import gc

    from qtrade.commands.serve import settle_heap

    before = gc.get_freeze_count()
    try:
        settle_heap()
        # everything alive now (this test process: pytest, the project's modules) is frozen
        assert gc.get_freeze_count() > max(before, 10_000)
        assert gc.isenabled()  # the collector still runs for what the service builds later
    finally:
        gc.unfreeze()
