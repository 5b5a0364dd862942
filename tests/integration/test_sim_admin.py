"""The simulator's admin API over HTTP: prices, time, paths, faults, inspection, accounts,
reset, settings, and 422 answers naming the bad field."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from simulator.server import default_credentials
from tests.kit.sim_server import SimServer, serving_simulator

START_MS = 1767225600000  # 2026-01-01T00:00:00Z, the simulator's default start
FLAT_PATH = Path(__file__).resolve().parents[2] / "scenarios" / "paths" / "flat.yaml"


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(server: SimServer) -> None:
    assert server.admin("POST", "/admin/reset").status_code == 200


def _post(server: SimServer, path: str, body: Any) -> Any:
    response = server.admin("POST", path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _field_error(server: SimServer, method: str, path: str, body: Any) -> list[Any]:
    response = server.admin(method, path, json=body)
    assert response.status_code == 422, response.text
    return [entry["loc"] for entry in response.json()["detail"]]


def _place(server: SimServer, **order: Any) -> Any:
    venue = server.sim.venue(order.pop("exchange", "binance"))
    return venue.place_order(server.api_key, **order)


def test_status_reports_the_clock_and_venues(server: SimServer) -> None:
    status = server.admin("GET", "/admin/status").json()
    assert status["clock_ms"] == START_MS
    assert sorted(status["exchanges"]) == ["binance", "bybit"]
    assert "BTCUSDT" in status["exchanges"]["binance"]["symbols"]


def test_price_moves_and_fills_a_resting_order(server: SimServer) -> None:
    order = _place(
        server, symbol="BTCUSDT", side="buy", type="limit", quantity=Decimal("0.001"),
        price=Decimal("95000"),
    )  # fmt: skip
    moved = _post(
        server, "/admin/price", {"exchange": "binance", "symbol": "BTCUSDT", "price": "94000"}
    )
    assert moved["price"] == "94000.00"
    fill = moved["events"][0]
    assert (fill["kind"], fill["order_id"], fill["status"]) == ("fill", order.order_id, "FILLED")
    assert fill["trade"]["price"] == "95000.00"  # the limit price, not the new price
    # 0.001 x 95000 = 95 USDT spent; 0.001 BTC bought less the 0.1 % fee = 0.000999 BTC
    balances = server.admin("GET", "/admin/balances", params={"exchange": "binance"}).json()
    mine = balances["binance"][server.api_key]
    assert Decimal(mine["USDT"]["total"]) == Decimal(99905)
    assert Decimal(mine["BTC"]["total"]) == Decimal("0.000999")
    prices = server.admin("GET", "/admin/prices", params={"exchange": "binance"}).json()
    assert Decimal(prices["binance"]["BTCUSDT"]) == Decimal(94000)
    assert Decimal(prices.get("bybit", {}).get("BTCUSDT", "0")) == 0  # only binance asked


def test_price_input_errors_name_the_field(server: SimServer) -> None:
    body = {"exchange": "binance", "symbol": "BTCUSDT", "price": 94000.5}  # a JSON float
    assert _field_error(server, "POST", "/admin/price", body) == [["body", "price"]]
    body = {"exchange": "nowhere", "symbol": "BTCUSDT", "price": "1"}
    assert _field_error(server, "POST", "/admin/price", body) == [["body", "exchange"]]
    body = {"exchange": "binance", "symbol": "NOPEUSDT", "price": "1"}
    assert _field_error(server, "POST", "/admin/price", body) == [["body", "symbol"]]
    body = {"exchange": "binance", "symbol": "BTCUSDT", "price": "-5"}
    assert _field_error(server, "POST", "/admin/price", body) == [["body", "price"]]
    body = {"exchange": "binance", "symbol": "BTCUSDT", "price": "1", "extra": 1}
    assert _field_error(server, "POST", "/admin/price", body) == [["body", "extra"]]


def test_advance_moves_the_clock(server: SimServer) -> None:
    assert _post(server, "/admin/advance", {"seconds": 90})["clock_ms"] == START_MS + 90_000
    assert _post(server, "/admin/advance", {"seconds": "0.5"})["clock_ms"] == START_MS + 90_500
    until = START_MS + 100_000
    assert _post(server, "/admin/advance", {"until_ms": until})["clock_ms"] == until
    assert _field_error(server, "POST", "/admin/advance", {}) == [["body", "seconds"]]
    assert _field_error(server, "POST", "/admin/advance", {"seconds": "0.0001"}) == [
        ["body", "seconds"]
    ]
    assert _field_error(server, "POST", "/admin/advance", {"until_ms": START_MS}) == [
        ["body", "until_ms"]
    ]


def test_path_from_inline_yaml_is_played_by_advance(server: SimServer) -> None:
    order = _place(
        server, exchange="bybit", symbol="ETHUSDT", side="buy", type="limit",
        quantity=Decimal("0.01"), price=Decimal("3350"),
    )  # fmt: skip
    loaded = _post(server, "/admin/path", {"yaml": "timeline:\n  - ETHUSDT: 3300 over 1m\n"})
    assert "ETHUSDT" in loaded["path_symbols"]
    played = _post(server, "/admin/advance", {"seconds": 60})
    fills = [e for e in played["events"] if e["kind"] == "fill"]
    assert [(e["exchange"], e["order_id"], e["trade"]["price"]) for e in fills] == [
        ("bybit", order.order_id, "3350.00")
    ]
    prices = server.admin("GET", "/admin/prices", params={"exchange": "bybit"}).json()
    assert Decimal(prices["bybit"]["ETHUSDT"]) == Decimal(3300)


def test_path_from_a_file_and_its_errors(server: SimServer) -> None:
    loaded = _post(server, "/admin/path", {"file": str(FLAT_PATH)})
    assert "BTCUSDT" in loaded["path_symbols"]
    assert _field_error(server, "POST", "/admin/path", {"file": "/no/such.yaml"}) == [
        ["body", "file"]
    ]
    assert _field_error(server, "POST", "/admin/path", {}) == [["body", "file"]]
    bad = _field_error(server, "POST", "/admin/path", {"yaml": "timeline:\n  - NOPE: 1\n"})
    assert len(bad) == 1 and bad[0][0] == "body"


def test_faults_add_list_remove_clear_and_log(server: SimServer) -> None:
    added = _post(server, "/admin/faults", {"kind": "rate_limit", "exchange": "binance"})
    fault_id = added["faults"][0]["fault_id"]
    listed = server.admin("GET", "/admin/faults").json()["faults"]
    assert [(f["fault_id"], f["kind"]) for f in listed] == [(fault_id, "rate_limit")]
    # the fault fires on a Binance request and lands in the log
    assert server.admin("GET", "/api/v3/ticker/price", params={"symbol": "BTCUSDT"}).status_code \
        == 429  # fmt: skip
    log = server.admin("GET", "/admin/log", params={"kind": "fault"}).json()
    assert [(e["fault"], e["fault_id"], e["endpoint"]) for e in log["entries"]] == [
        ("rate_limit", fault_id, "ticker")
    ]
    assert server.admin("DELETE", f"/admin/faults/{fault_id}").json() == {"cleared": 1}
    assert server.admin("DELETE", f"/admin/faults/{fault_id}").status_code == 404
    several = [{"kind": "latency", "latency_ms": 5}, {"kind": "down", "exchange": "bybit"}]
    assert len(_post(server, "/admin/faults", several)["faults"]) == 2
    assert server.admin("DELETE", "/admin/faults").json() == {"cleared": 2}


def test_fault_input_errors_name_the_field(server: SimServer) -> None:
    assert _field_error(server, "POST", "/admin/faults", {"kind": "meteor"}) == [["body", "kind"]]
    assert _field_error(server, "POST", "/admin/faults", {"kind": "down", "colour": "red"}) == [
        ["body", "colour"]
    ]
    assert _field_error(
        server, "POST", "/admin/faults", [{"kind": "down"}, {"kind": "latency", "latency_ms": 0}]
    ) == [["body", 1, "latency_ms"]]
    two = [{"kind": "down", "exchange": "binance"}, {"kind": "down", "exchange": "kraken"}]
    assert _field_error(server, "POST", "/admin/faults", two) == [["body", 1, "exchange"]]
    assert server.admin("GET", "/admin/faults").json()["faults"] == []  # nothing half-added


def test_orders_listing(server: SimServer) -> None:
    resting = _place(
        server, symbol="BTCUSDT", side="buy", type="limit", quantity=Decimal("0.001"),
        price=Decimal("90000"),
    )  # fmt: skip
    filled = _place(server, symbol="BTCUSDT", side="buy", type="market", quantity=Decimal("0.001"))
    every = server.admin("GET", "/admin/orders", params={"exchange": "binance"}).json()["orders"]
    assert [(o["order_id"], o["status"]) for o in every] == [
        (resting.order_id, "NEW"),
        (filled.order_id, "FILLED"),
    ]
    assert every[1]["fills"][0]["price"] == "95992.30"
    open_only = server.admin("GET", "/admin/orders", params={"open_only": "true"}).json()
    assert [o["order_id"] for o in open_only["orders"]] == [resting.order_id]


def test_created_account_trades_over_rest(server: SimServer) -> None:
    created = server.admin(
        "POST",
        "/admin/accounts",
        json={
            "api_key": "alice",
            "api_secret": "s3cret",
            "balances": {"USDT": "500", "BTC": "0.5"},
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["exchanges"] == ["binance", "bybit"]
    query = urlencode({"timestamp": time.time_ns() // 1_000_000, "recvWindow": 5000})
    signature = hmac.new(b"s3cret", query.encode(), hashlib.sha256).hexdigest()
    account = server.admin(
        "GET", f"/api/v3/account?{query}&signature={signature}", headers={"X-MBX-APIKEY": "alice"}
    ).json()
    assert {b["asset"]: Decimal(b["free"]) for b in account["balances"]} == {
        "BTC": Decimal("0.5"),
        "USDT": Decimal(500),
    }
    again = {"api_key": "alice", "api_secret": "x"}
    assert _field_error(server, "POST", "/admin/accounts", again) == [["body", "api_key"]]
    floats = {"balances": {"USDT": 1.5}}
    assert _field_error(server, "POST", "/admin/accounts", floats) == [["body", "balances", "USDT"]]


def test_generated_account_keys_are_deterministic(server: SimServer) -> None:
    first = _post(server, "/admin/accounts", {"exchanges": ["bybit"]})
    assert first["exchanges"] == ["bybit"] and len(first["api_secret"]) == 64
    assert Decimal(first["balances"]["USDT"]) == Decimal(100000)  # the default balance
    assert first["api_key"] in server.sim.venue("bybit").accounts
    assert first["api_key"] not in server.sim.venue("binance").accounts


def test_reset_forgets_orders_and_moves(server: SimServer) -> None:
    _place(server, symbol="BTCUSDT", side="buy", type="market", quantity=Decimal("0.001"))
    _post(server, "/admin/advance", {"seconds": 10})
    status = _post(server, "/admin/reset", {})
    assert status["clock_ms"] == START_MS
    assert server.admin("GET", "/admin/orders").json()["orders"] == []
    balances = server.admin("GET", "/admin/balances").json()
    assert balances["binance"][server.api_key] == {
        "USDT": {"free": "100000", "locked": "0", "total": "100000"}
    }


def test_settings_change_the_response_lost_delay(server: SimServer) -> None:
    before = server.admin("GET", "/admin/status").json()["response_lost_delay_ms"]
    assert _post(server, "/admin/settings", {"response_lost_delay_ms": 250}) == {
        "response_lost_delay_ms": 250
    }
    assert _field_error(server, "POST", "/admin/settings", {"response_lost_delay_ms": -1}) == [
        ["body", "response_lost_delay_ms"]
    ]
    _post(server, "/admin/settings", {"response_lost_delay_ms": before})


def test_qtrade_sim_serve_prints_its_credentials_and_serves() -> None:
    root = Path(__file__).resolve().parents[2]
    command = [
        sys.executable, "-c", "from qtrade.cli import main; raise SystemExit(main())",
        "sim", "serve", "--port", "0", "--seed", "3", "--balance", "USDT=500",
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root) as process:
        try:
            assert process.stdout is not None
            line = json.loads(process.stdout.readline())
            assert sorted(line) == ["api_key", "api_secret", "base_url"]
            assert (line["api_key"], line["api_secret"]) == default_credentials(3)
            query = urlencode({"timestamp": time.time_ns() // 1_000_000})
            signature = hmac.new(line["api_secret"].encode(), query.encode(), hashlib.sha256)
            account = httpx.get(
                f"{line['base_url']}/api/v3/account?{query}&signature={signature.hexdigest()}",
                headers={"X-MBX-APIKEY": line["api_key"]},
            ).json()
            assert account["balances"] == [
                {"asset": "USDT", "free": "500.00000000", "locked": "0.00000000"}
            ]
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_the_demo_script_passes_against_the_server(server: SimServer) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "sim_demo.py"
    spec = importlib.util.spec_from_file_location("sim_demo", script)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.run(server.base_url, server.api_key, server.api_secret) is True
