"""Playing price paths: resting orders fill when the path trades through them, in time order,
without a Python step per tick when nothing can fill."""

from __future__ import annotations

import time

import numpy as np
import pytest

from simulator import PricePath, SimOrderStatus, SymbolPath
from simulator.paths import price_to_units
from tests.kit.simulator import KEY, T0, D, funded_sim, points_path


def buy(sim, symbol, qty, price, exchange="binance", **kw):  # type: ignore[no-untyped-def]
    return sim.venue(exchange).place_order(
        KEY, symbol=symbol, side="buy", type="limit", quantity=D(qty), price=D(price), **kw
    )


def test_resting_buys_fill_at_their_limit_when_the_path_trades_through() -> None:
    sim = funded_sim()
    sim.load_path(points_path({"BTCUSDT": [
        (0, "95992.3"), (1000, "95500"), (2000, "95000"), (3000, "94900"), (4000, "96000"),
    ]}))  # fmt: skip
    first = buy(sim, "BTCUSDT", "0.001", "95032.37")
    second = buy(sim, "BTCUSDT", "0.001", "94950")
    assert sim.advance(until_ms=T0 + 1500) == []
    assert sim.clock_ms == T0 + 1500
    assert sim.venue("binance").last_price("BTCUSDT") == D("95500.00")
    (event,) = sim.advance(by_ms=1000)  # the 95000 tick at +2 s crosses 95032.37 only
    assert (event.order_id, event.time_ms) == (first.order_id, T0 + 2000)
    assert event.trade is not None and event.trade.price == D("95032.37")
    (event,) = sim.advance(until_ms=T0 + 5000)  # 94900 at +3 s crosses 94950
    assert (event.order_id, event.time_ms) == (second.order_id, T0 + 3000)
    assert event.trade is not None and event.trade.price == D("94950.00")
    assert sim.venue("binance").last_price("BTCUSDT") == D("96000.00")
    assert sim.clock_ms == T0 + 5000


def test_events_come_in_time_order_across_symbols_and_venues() -> None:
    sim = funded_sim()
    sim.load_path(points_path({
        "BTCUSDT": [(0, "95992.3"), (3000, "90000")],
        "ETHUSDT": [(0, "3394"), (1000, "3000")],
    }))  # fmt: skip
    btc = buy(sim, "BTCUSDT", "0.001", "91000")
    eth_bybit = buy(sim, "ETHUSDT", "0.01", "3100", exchange="bybit")
    eth = buy(sim, "ETHUSDT", "0.01", "3100")
    events = sim.advance(until_ms=T0 + 10_000)
    assert [(e.time_ms - T0, e.exchange, e.order_id) for e in events] == [
        (1000, "binance", eth.order_id),
        (1000, "bybit", eth_bybit.order_id),
        (3000, "binance", btc.order_id),
    ]


def test_liquidity_per_tick_gives_partial_fills_across_ticks() -> None:
    sim = funded_sim(liquidity_per_tick=D("0.0004"))
    sim.load_path(points_path({"BTCUSDT": [
        (0, "95992.3"), (1000, "94000"), (2000, "94000"), (3000, "94000"), (4000, "94000"),
    ]}))  # fmt: skip
    order = buy(sim, "BTCUSDT", "0.001", "95000")
    events = sim.advance(until_ms=T0 + 10_000)
    # 0.0004 per tick: 0.0004 + 0.0004 + 0.0002 = 0.001 over the first three ticks
    assert [(e.time_ms - T0, e.trade.quantity, e.status) for e in events if e.trade] == [
        (1000, D("0.0004"), SimOrderStatus.PARTIALLY_FILLED),
        (2000, D("0.0004"), SimOrderStatus.PARTIALLY_FILLED),
        (3000, D("0.0002"), SimOrderStatus.FILLED),
    ]
    final = sim.venue("binance").get_order(KEY, symbol="BTCUSDT", order_id=order.order_id)
    assert sum(f.quantity for f in final.fills) == final.quantity == D("0.001")
    assert sim.venue("binance").balances(KEY)["USDT"].locked == 0


def test_set_price_overrides_until_the_next_path_tick() -> None:
    sim = funded_sim()
    sim.load_path(points_path({"SOLUSDT": [(0, "125.97"), (5000, "126.50")]}))
    sim.set_price("bybit", "SOLUSDT", D("120.004"))  # rounded to the 0.01 tick
    assert sim.venue("bybit").last_price("SOLUSDT") == D("120.00")
    assert sim.venue("binance").last_price("SOLUSDT") == D("125.97")
    sim.advance(by_ms=4000)
    assert sim.venue("bybit").last_price("SOLUSDT") == D("120.00")
    sim.advance(by_ms=1000)
    assert sim.venue("bybit").last_price("SOLUSDT") == D("126.50")


def test_unanchored_yaml_starts_at_the_clock_and_applies_its_first_tick(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sim = funded_sim()
    sim.advance(by_ms=60_000)
    order = buy(sim, "XRPUSDT", "10", "1.8")
    file = tmp_path / "drop.yaml"
    file.write_text("prices: {XRPUSDT: 1.75}\ntimeline: [{XRPUSDT: 2 over 10s}]\n")
    (event,) = sim.load_path(file)  # the start tick (1.75, now) fills the 1.8 buy at once
    assert event.order_id == order.order_id and event.time_ms == T0 + 60_000
    assert sim.path["XRPUSDT"].start_ms == T0 + 60_000
    sim.advance(by_ms=10_000)
    assert sim.venue("binance").last_price("XRPUSDT") == D("2.0000")


def test_a_path_from_the_past_rewinds_the_clock_only_without_orders() -> None:
    sim = funded_sim()
    past = PricePath(
        {"BTCUSDT": SymbolPath("BTCUSDT", np.array([1_000, 2_000], np.int64),
                               np.array([price_to_units(D(50000))] * 2, np.int64))},
        1_000,
    )  # fmt: skip
    sim.load_path(past)
    assert sim.clock_ms == 1_000
    buy(sim, "BTCUSDT", "0.001", "40000")
    with pytest.raises(ValueError, match="starts before the simulator clock and orders exist"):
        sim.load_path(PricePath({"BTCUSDT": past.symbols["BTCUSDT"]}, 500))
    with pytest.raises(ValueError, match="not a market on any venue"):
        sim.load_path(points_path({"FOOUSDT": [(0, "1")]}))


def test_advance_arguments() -> None:
    sim = funded_sim()
    sim.advance(by_ms=5)
    assert sim.clock_ms == T0 + 5  # no path: only the clock moves
    with pytest.raises(ValueError, match="exactly one of"):
        sim.advance()
    with pytest.raises(ValueError, match="before the clock"):
        sim.advance(until_ms=T0)


def test_reset_returns_to_the_start() -> None:
    sim = funded_sim()
    buy(sim, "BTCUSDT", "0.001", "90000")
    sim.set_price("binance", "BTCUSDT", D(80000))
    sim.faults.add("rate_limit", exchange="bybit")
    sim.advance(by_ms=1000)
    sim.reset()
    assert sim.clock_ms == T0 and sim.log == [] and sim.faults.faults == []
    venue = sim.venue("binance")
    assert venue.all_orders(KEY) == [] and venue.last_price("BTCUSDT") == D("95992.30")
    assert venue.balances(KEY) == {"USDT": type(venue.balances(KEY)["USDT"])(D(100000), D(0))}
    again = buy(sim, "BTCUSDT", "0.001", "90000")
    assert again.order_id == "5000000001"


def _million_tick_path(low: float, high: float) -> PricePath:
    rng = np.random.default_rng(7)
    n = 1_000_000
    prices = np.clip(95_000 + np.cumsum(rng.normal(0, 5, n)), low, high)
    units = np.rint(prices * 1e8).astype(np.int64)
    times = T0 + np.arange(1, n + 1, dtype=np.int64) * 100
    return PricePath({"BTCUSDT": SymbolPath("BTCUSDT", times, units)}, T0)


def test_a_million_ticks_with_100_resting_orders_that_never_cross_is_fast() -> None:
    sim = funded_sim(balances={"USDT": D(10_000_000), "BTC": D(100)})
    sim.load_path(_million_tick_path(90_000, 100_000))
    venue = sim.venue("binance")
    for i in range(50):  # 50 buys below 90000 and 50 sells above 100000: never crossed
        venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit",
                          quantity=D("0.001"), price=D(80_000 + i))  # fmt: skip
        venue.place_order(KEY, symbol="BTCUSDT", side="sell", type="limit",
                          quantity=D("0.001"), price=D(110_000 + i))  # fmt: skip
    started = time.perf_counter()
    events = sim.advance(until_ms=T0 + 100_000_000)
    elapsed = time.perf_counter() - started
    assert events == []
    assert sim.clock_ms == T0 + 100_000_000
    assert elapsed < 1.0, f"advance took {elapsed:.3f} s"
