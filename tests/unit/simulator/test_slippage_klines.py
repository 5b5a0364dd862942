"""Slippage models (fixed bps, synthetic book walk) and klines / ticker statistics."""

from __future__ import annotations

import pytest

from simulator import FixedBpsSlippage, SimOrderStatus, SyntheticBook, slippage_from_spec
from tests.kit.simulator import KEY, T0, D, funded_sim, points_path


def test_fixed_bps_moves_the_price_against_the_taker_to_the_tick() -> None:
    sim = funded_sim(slippage=FixedBpsSlippage(D(10)))
    venue = sim.venue("binance")
    # 9599230 ticks x 1.001 = 9608829.23 -> up to 9608830 -> 96088.30
    buy = venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    assert buy.fills[0].price == D("96088.30")
    # 9599230 x 0.999 = 9589630.77 -> down to 9589630 -> 95896.30
    sell = venue.place_order(KEY, symbol="BTCUSDT", side="sell", type="market",
                             quantity=D("0.0009"))  # fmt: skip
    assert sell.fills[0].price == D("95896.30")


def test_book_walk_fills_level_by_level() -> None:
    sim = funded_sim(slippage=SyntheticBook(level_notional=D(100), level_bps=D(10)))
    venue = sim.venue("binance")
    order = venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="market",
                              quantity=D("0.003"))  # fmt: skip
    # level 0: 95992.30, 100/95992.30 = 0.0010417 -> 0.00104
    # level 1: 96088.30 (+10 bps, rounded up), 100/96088.30 -> 0.00104
    # level 2: 9599230 x 1.002 = 9618428.46 -> 96184.29, the remaining 0.00092
    assert [(f.price, f.quantity) for f in order.fills] == [
        (D("95992.30"), D("0.00104")),
        (D("96088.30"), D("0.00104")),
        (D("96184.29"), D("0.00092")),
    ]
    assert order.status == SimOrderStatus.FILLED


def test_marketable_limit_walks_up_to_its_price_then_rests_or_expires() -> None:
    sim = funded_sim(slippage=SyntheticBook(level_notional=D(100), level_bps=D(10)))
    venue = sim.venue("binance")
    gtc = venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit",
                            quantity=D("0.003"), price=D("96100"))  # fmt: skip
    assert gtc.status == SimOrderStatus.PARTIALLY_FILLED
    assert gtc.filled_quantity == D("0.00208")  # levels 0 and 1; level 2 is above 96100
    # locked 0.003 x 96100 = 288.3; the two fills free 0.00208 x 96100 = 199.888
    assert venue.balances(KEY)["USDT"].locked == D("88.412")  # = 0.00092 x 96100
    ioc = venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="limit",
                            quantity=D("0.003"), price=D("96100"), time_in_force="IOC")  # fmt: skip
    assert ioc.status == SimOrderStatus.EXPIRED and ioc.filled_quantity == D("0.00208")
    assert venue.balances(KEY)["USDT"].locked == D("88.412")
    bids, asks = venue.order_book("BTCUSDT", limit=2)
    assert [(a.price, a.quantity) for a in asks] == [
        (D("95992.30"), D("0.00104")), (D("96088.30"), D("0.00104")),
    ]  # fmt: skip
    assert bids[0].price == D("95992.30") and bids[1].price == D("95896.30")


def test_slippage_specs() -> None:
    assert slippage_from_spec({"model": "fixed_bps", "bps": "5"}) == FixedBpsSlippage(D(5))
    assert slippage_from_spec(
        {"model": "book", "level_notional": "50000", "level_bps": "2"}
    ) == SyntheticBook(D(50000), D(2))
    with pytest.raises(ValueError, match=r"slippage\.model"):
        slippage_from_spec({"model": "chaos"})
    with pytest.raises(ValueError, match="bps: must be >= 0"):
        FixedBpsSlippage(D(-1))


def test_klines_from_path_and_trades() -> None:
    sim = funded_sim()
    sim.load_path(points_path({"SOLUSDT": [
        (0, "125.97"), (10_000, "126.5"), (70_000, "124"), (130_000, "125"),
    ]}))  # fmt: skip
    sim.advance(until_ms=T0 + 150_000)
    venue = sim.venue("binance")
    venue.place_order(KEY, symbol="SOLUSDT", side="buy", type="market", quantity=D(1))
    candles = venue.klines("SOLUSDT", 60_000)
    assert [(c.open_ms - T0, c.open, c.high, c.low, c.close) for c in candles] == [
        (0, D("125.97"), D("126.50"), D("125.97"), D("126.50")),
        (60_000, D("126.50"), D("126.50"), D("124.00"), D("124.00")),  # opens at last close
        (120_000, D("124.00"), D("125.00"), D("124.00"), D("125.00")),
    ]
    assert (candles[2].volume, candles[2].quote_volume, candles[2].trades) == (
        D(1), D("125.00"), 1,
    )  # fmt: skip
    assert candles[0].close_ms == T0 + 59_999
    sim.advance(until_ms=T0 + 250_000)
    later = venue.klines("SOLUSDT", 60_000)
    assert [(c.open_ms - T0, c.open, c.close) for c in later[3:]] == [
        (180_000, D("125.00"), D("125.00")),  # no tick: a flat candle
        (240_000, D("125.00"), D("125.00")),
    ]
    assert [c.open_ms - T0 for c in venue.klines("SOLUSDT", 60_000, limit=2)] == [
        180_000, 240_000,
    ]  # fmt: skip
    window = venue.klines("SOLUSDT", 60_000, start_ms=T0 + 60_000, limit=2)
    assert [c.open_ms - T0 for c in window] == [60_000, 120_000]
    ticker = venue.ticker("SOLUSDT")
    assert (ticker.last, ticker.open_24h, ticker.high_24h, ticker.low_24h) == (
        D("125.00"), D("125.97"), D("126.50"), D("124.00"),
    )  # fmt: skip
    assert ticker.volume_24h == D(1)
    with pytest.raises(ValueError, match="interval_ms: must be > 0"):
        venue.klines("SOLUSDT", 0)
