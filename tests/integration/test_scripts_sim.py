"""simulate_price_movement.py and reset_test_environment.py against a real simulator server
(uvicorn on an ephemeral port): each mode of a move, and the simulator reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from engine.adapters.sql_store import SqlStore
from qtrade.tools import prices, reset
from tests.kit.sim_server import SimServer, serving_simulator
from tests.kit.tools import closed_long_group, sqlite_url

SEED_BTC = "95992.30"  # the simulator's start price for BTCUSDT


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    with serving_simulator() as running:
        yield running


@pytest.fixture
def sim(server: SimServer) -> SimServer:
    assert server.admin("POST", "/admin/reset").status_code == 200
    return server


def _move(sim: SimServer, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    argv = ["--exchange", "binance", "--symbol", "BTCUSDT", "--url", sim.base_url, *extra]
    assert prices.main(argv) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


def _price(sim: SimServer, exchange: str = "binance") -> str:
    return str(sim.admin("GET", "/admin/prices").json()[exchange]["BTCUSDT"])


def test_move_at_once_fills_the_resting_order_it_crosses(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    venue = sim.sim.venue("binance")
    resting = venue.place_order(sim.api_key, symbol="BTCUSDT", side="buy", type="limit",
                                quantity=Decimal("0.001"), price=Decimal("95500"))  # fmt: skip
    clock = sim.sim.clock_ms
    result = _move(sim, capsys, "--to", "95000")
    assert result == {
        "exchange": "binance",
        "symbol": "BTCUSDT",
        "from": SEED_BTC,
        "to": "95000",
        "price": "95000.00",
        "mode": "set",
        "clock_ms": clock,  # no time passes
        "fills": 1,
        "events": result["events"],
    }
    order = venue.get_order(sim.api_key, symbol="BTCUSDT", order_id=resting.order_id)
    assert order.status.value == "FILLED" and order.filled_quantity == Decimal("0.001")


def test_move_over_time_as_a_path(sim: SimServer, capsys: pytest.CaptureFixture[str]) -> None:
    clock = sim.sim.clock_ms
    result = _move(sim, capsys, "--to", "94000", "--over", "10")
    assert (result["mode"], result["price"], result["clock_ms"]) == (
        "path",
        "94000.00",
        clock + 10_000,
    )
    # a path is per symbol: the move applies on every simulated exchange
    assert _price(sim, "bybit") == "94000.00"


def test_move_over_time_in_steps_on_one_exchange(
    sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = sim.sim.clock_ms
    bybit_before = _price(sim, "bybit")
    result = _move(sim, capsys, "--to", "94000", "--over", "3", "--steps", "3")
    # (94000 − 95992.30) / 3 = −664.10 per step
    assert result["steps"] == ["95328.20", "94664.10", "94000.00"]
    assert (result["mode"], result["clock_ms"]) == ("steps", clock + 3_000)
    assert _price(sim, "bybit") == bybit_before


def test_target_is_rounded_to_the_tick(sim: SimServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--exchange", "binance", "--symbol", "btc/usdt", "--url", sim.base_url]
    assert prices.main([*argv, "--to", "95000.005"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["price"] == "95000.01"  # tick 0.01, half up
    assert "rounded" in captured.err


def test_reset_with_url_resets_the_simulator_and_the_store(
    sim: SimServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    start_clock = sim.sim.clock_ms
    _move(sim, capsys, "--to", "90000", "--over", "5")
    assert _price(sim) == "90000.00"
    store = SqlStore(sqlite_url(tmp_path), data_dir=tmp_path)
    closed_long_group(store)
    store.close()
    argv = ["--confirm", "--url", sim.base_url, "--db", sqlite_url(tmp_path)]
    assert reset.main([*argv, "--data-dir", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["simulator"] == {"reset": True, "clock_ms": start_clock}
    assert report["deleted"]["groups"] == 1
    assert _price(sim) == SEED_BTC
