"""``Simulator(spot_buy_fee_asset="quote")``: spot buys receive all the base and pay the fee in
quote on top of the cost (the backtests' default, so a take-profit can sell exactly what the
engine bought). BTCUSDT starts at 95992.3; fees 0.1 % maker and taker on Binance."""

from __future__ import annotations

import pytest

from simulator import SimError, SimOrderStatus
from tests.kit.simulator import KEY, D, funded_sim


def test_market_buy_pays_the_fee_in_quote_and_receives_all_the_base() -> None:
    sim = funded_sim(spot_buy_fee_asset="quote")
    venue = sim.venue("binance")
    order = venue.place_order(KEY, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001"))
    (fill,) = order.fills
    # cost 0.001 x 95992.30 = 95.99230; fee 95.99230 x 0.1 % = 0.09599230 USDT
    assert (fill.fee, fill.fee_asset) == (D("0.0959923"), "USDT")
    balances = venue.balances(KEY)
    assert balances["BTC"].free == D("0.001")
    assert balances["USDT"].free == D("100000") - D("95.99230") - D("0.0959923")


def test_resting_limit_buy_locks_cost_plus_fee_and_settles_exactly() -> None:
    sim = funded_sim(spot_buy_fee_asset="quote")
    venue = sim.venue("binance")
    order = venue.place_order(
        KEY, symbol="BTCUSDT", side="buy", type="limit", quantity=D("0.002"), price=D("95000")
    )
    assert order.status == SimOrderStatus.NEW
    # lock 0.002 x 95000 x (1 + 0.001) = 190.19
    assert venue.balances(KEY)["USDT"].locked == D("190.19")
    sim.set_price("binance", "BTCUSDT", D("94999"))
    balances = venue.balances(KEY)
    # filled at its limit as maker: cost 190, fee 0.19; the lock is released entirely
    assert balances["USDT"].locked == 0
    assert balances["USDT"].free == D("100000") - D("190") - D("0.19")
    assert balances["BTC"].free == D("0.002")


def test_the_fee_counts_against_the_free_balance() -> None:
    # 95.99230 would be enough for the cost alone, not for cost + fee (96.0882923)
    sim = funded_sim({"USDT": D("96")}, spot_buy_fee_asset="quote")
    with pytest.raises(SimError) as info:
        sim.venue("binance").place_order(
            KEY, symbol="BTCUSDT", side="buy", type="market", quantity=D("0.001")
        )
    assert info.value.reason == "insufficient_balance"


def test_sells_and_the_default_mode_are_unchanged() -> None:
    sim = funded_sim({"USDT": D("1000"), "BTC": D("0.01")}, spot_buy_fee_asset="quote")
    sell = sim.venue("binance").place_order(
        KEY, symbol="BTCUSDT", side="sell", type="market", quantity=D("0.001")
    )
    assert (sell.fills[0].fee, sell.fills[0].fee_asset) == (D("0.0959923"), "USDT")
    with pytest.raises(ValueError, match="spot_buy_fee_asset"):
        funded_sim(spot_buy_fee_asset="bnb")
