"""The example paths in scenarios/paths load and do what their comments say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator import SimOrderStatus, Simulator
from tests.kit.simulator import KEY, T0, D, funded_sim

PATHS = Path(__file__).resolve().parents[3] / "scenarios" / "paths"


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in PATHS.iterdir() if p.suffix in (".yaml", ".csv")),
)
def test_every_example_loads(name: str) -> None:
    sim = Simulator()
    sim.load_path(PATHS / name)
    sim.advance(until_ms=T0 + 2 * 3_600_000)


def test_dca_dip_fills_the_grid_then_the_take_profit() -> None:
    sim = funded_sim()
    sim.load_path(PATHS / "dca_dip_and_recovery.yaml")
    venue = sim.venue("binance")
    # SPEC §4 worked example: leg 0 0.00020 at market, legs at 95512.33 and 95032.37
    venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.0002"))
    legs = [
        venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit", quantity=D(q),
                          price=D(p))
        for q, p in (("0.0003", "95512.33"), ("0.0005", "95032.37"))
    ]  # fmt: skip
    events = sim.advance(by_ms=6 * 60_000)  # the 5-minute dip to 94900
    assert [(e.order_id, e.trade.price) for e in events if e.trade] == [
        (legs[0].order_id, D("95512.33")),
        (legs[1].order_id, D("95032.37")),
    ]
    tp = venue.place_order(KEY, symbol="BTCUSDT", side="sell", type="limit",
                           quantity=D("0.00019"), price=D("96952.22"))  # fmt: skip
    sim.advance(by_ms=15 * 60_000)
    final = venue.get_order(KEY, symbol="BTCUSDT", order_id=tp.order_id)
    assert final.status == SimOrderStatus.FILLED
    assert venue.last_price("BTCUSDT") == D("97200.00")


def test_jumps_and_gaps() -> None:
    sim = Simulator()
    sim.load_path(PATHS / "jumps_and_gaps.yaml")
    sim.advance(by_ms=60_000)
    assert sim.venue("bybit").last_price("DOGEUSDT") == D("0.17550")  # 0.195 x 0.9
    sim.advance(by_ms=120_000)
    assert sim.venue("binance").last_price("GALAUSDT") == D("0.00792")


def test_random_walk_is_the_same_for_the_same_seed() -> None:
    first, second, other = Simulator(seed=4), Simulator(seed=4), Simulator(seed=5)
    for sim in (first, second, other):
        sim.load_path(PATHS / "random_walk_1h.yaml")
    assert len(first.path) == 9 and len(first.path["BTCUSDT"]) == 3_601
    assert np.array_equal(first.path["ETHUSDT"].units, second.path["ETHUSDT"].units)
    assert not np.array_equal(first.path["ETHUSDT"].units, other.path["ETHUSDT"].units)
