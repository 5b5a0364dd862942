"""Duplicates across processes (SPEC §2): ``qtrade serve --workers 2`` (two uvicorn worker
processes) on PostgreSQL, trading through ccxt against a simulator server; two identical
webhooks sent at the same time create one group and one ``duplicate``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from tests.kit.service_builders import SEED_USER_FILE, plan_payload, serve_process
from tests.kit.sim_server import serving_simulator
from tests.kit.store_builders import pg_url

__all__ = ["pg_url"]

USER_ID = "e7d6ae10-2a7d-4383-90d3-461c986e1e71"
SECRET = "1b6d3edada59826e786088a2161d70b6"


@pytest.fixture
def service_schema(pg_url: str) -> Iterator[str]:
    name = f"qt_service_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield name
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    engine.dispose()


def _post(url: str, payload: dict[str, Any]) -> httpx.Response:
    # a fresh connection per request, so the two can land on different workers
    with httpx.Client(timeout=60) as client:
        return client.post(url, json=payload)


@pytest.mark.postgres
def test_two_workers_on_postgres_make_one_group_and_one_duplicate(
    pg_url: str, service_schema: str, tmp_path: Path
) -> None:
    token = "workers-token"
    with serving_simulator() as simulator:
        args = [
            "--sim-url", simulator.base_url,
            "--db", pg_url,
            "--db-schema", service_schema,
            "--workers", "2",
            "--users", str(SEED_USER_FILE),
            "--data-dir", str(tmp_path),
            "--sync-interval", "60",
        ]  # fmt: skip
        with serve_process(args, env={"QTRADE_API_TOKEN": token}, timeout_s=60) as server:
            payload = plan_payload(SECRET)
            url = f"{server.base_url}/webhooks/{USER_ID}"
            with ThreadPoolExecutor(max_workers=2) as pool:
                responses = list(pool.map(lambda _: _post(url, payload), range(2)))
            groups = server.get("/positions").json()
            signals = server.get("/signals").json()
        entries = [
            order
            for order in simulator.sim.venue("binance").all_orders(simulator.api_key)
            if "-entry-" in order.client_order_id
        ]
    assert [r.status_code for r in responses] == [202, 202]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["duplicate", "opened"]
    assert [g["symbol"] for g in groups] == ["BTCUSDT"]
    assert sorted(s["outcome"] for s in signals) == ["duplicate", "opened"]
    assert len(entries) == 1
