"""Linear (perpetual, 1x) markets: shorts allowed, margin and realised PnL in quote."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain import MarketType
from simulator import SimError, SimMarket
from tests.kit.simulator import KEY, D, funded_sim

PERP = SimMarket(
    symbol="BTCPERP", base="BTC", quote="USDT", tick_size=D("0.01"), step_size=D("0.001"),
    min_qty=D("0.001"), min_notional=D(5), market_type=MarketType.LINEAR, start_price=D(100),
)  # fmt: skip


def sim_with_perp():  # type: ignore[no-untyped-def]
    sim = funded_sim()
    sim.add_markets([PERP])
    return sim, sim.venue("binance")


def test_short_then_close_with_profit() -> None:
    sim, venue = sim_with_perp()
    short = venue.place_order(KEY, symbol="BTCPERP", side="sell", type="market", quantity=D(1))
    assert short.fills[0].fee_asset == "USDT" and short.fills[0].fee == D("0.100")
    (position,) = venue.positions(KEY).values()
    assert (position.quantity, position.margin, position.entry_price) == (D(-1), D(100), D(100))
    # 100000 - 100 margin - 0.1 fee
    assert venue.balances(KEY)["USDT"].free == D("99899.900")
    sim.set_price("binance", "BTCPERP", D(90))
    venue.place_order(KEY, symbol="BTCPERP", side="buy", type="market", quantity=D(1),
                      reduce_only=True)  # fmt: skip
    position = venue.positions(KEY)["BTCPERP"]
    # short PnL = (100 - 90) x 1 = 10; margin 100 comes back; fee 0.09
    assert (position.quantity, position.margin, position.realised_pnl) == (D(0), D(0), D(10))
    assert venue.balances(KEY)["USDT"].free == D("99899.900") + D(110) - D("0.090")


def test_resting_long_locks_margin_and_fee_then_holds_margin() -> None:
    sim, venue = sim_with_perp()
    venue.place_order(KEY, symbol="BTCPERP", side="buy", type="limit", quantity=D(2),
                      price=D(99))  # fmt: skip
    assert venue.balances(KEY)["USDT"].locked == D("198.198")  # 2 x 99 x (1 + 0.001)
    (event,) = sim.set_price("binance", "BTCPERP", D("98.5"))
    assert event.trade is not None and event.trade.price == D("99.00")
    usdt = venue.balances(KEY)["USDT"]
    assert usdt.locked == 0
    assert usdt.free == D(100000) - D(198) - D("0.198")  # margin 198, maker fee 0.198
    assert venue.positions(KEY)["BTCPERP"].margin == D(198)


def test_partial_close_releases_margin_pro_rata_and_flip_opens_the_other_side() -> None:
    sim, venue = sim_with_perp()
    venue.place_order(KEY, symbol="BTCPERP", side="buy", type="market", quantity=D(2))
    sim.set_price("binance", "BTCPERP", D(110))
    venue.place_order(KEY, symbol="BTCPERP", side="sell", type="market", quantity=D(3))
    position = venue.positions(KEY)["BTCPERP"]
    # closes 2 long at 110 (PnL 2 x 10 = 20), opens 1 short at 110 (margin 110)
    assert (position.quantity, position.margin, position.realised_pnl) == (D(-1), D(110), D(20))
    # fees: 2 x 100 x 0.001 = 0.2 and 3 x 110 x 0.001 = 0.33
    assert venue.balances(KEY)["USDT"].free == D(100000) + D(20) - D(110) - D("0.2") - D("0.33")


def test_reduce_only_rules() -> None:
    sim, venue = sim_with_perp()
    with pytest.raises(SimError) as nothing:
        venue.place_order(KEY, symbol="BTCPERP", side="sell", type="market", quantity=D(1),
                          reduce_only=True)  # fmt: skip
    assert (nothing.value.code, nothing.value.reason) == ("-2022", "reduce_only_rejected")
    with pytest.raises(SimError) as spot:
        venue.place_order(KEY, symbol="BTCUSDT", side="sell", type="market",
                          quantity=D("0.001"), reduce_only=True)  # fmt: skip
    assert spot.value.code == "-1106" and "reduce_only" in spot.value.message
    venue.place_order(KEY, symbol="BTCPERP", side="buy", type="market", quantity=D(1))
    tp = venue.place_order(KEY, symbol="BTCPERP", side="sell", type="limit", quantity=D(2),
                           price=D(120), reduce_only=True)  # fmt: skip
    fill, cancel = sim.set_price("binance", "BTCPERP", D(121))
    # a reduce-only fill never exceeds the position (1), the rest is cancelled
    assert fill.trade is not None and fill.trade.quantity == D(1)
    assert (cancel.kind, cancel.status, cancel.order_id) == ("status", "CANCELED", tp.order_id)
    final = venue.get_order(KEY, symbol="BTCPERP", order_id=tp.order_id)
    assert final.status == "CANCELED" and final.filled_quantity == D(1)
    assert venue.positions(KEY)["BTCPERP"].quantity == 0


def test_linear_margin_is_enforced() -> None:
    sim = funded_sim(balances={"USDT": D(50)})
    sim.add_markets([PERP])
    with pytest.raises(SimError) as poor:
        sim.venue("bybit").place_order(KEY, symbol="BTCPERP", side="sell", type="market",
                                       quantity=D(1))  # fmt: skip
    assert poor.value.code == "170131"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 5), st.integers(5_000, 20_000)),
        min_size=1,
        max_size=12,
    ),
    st.integers(5_000, 20_000),
)
def test_a_round_trip_ending_flat_books_proceeds_minus_costs_minus_fees(steps, final) -> None:  # type: ignore[no-untyped-def]
    """Flat at the end: cash = initial + sum(sell notional) - sum(buy notional) - fees.

    Lots of 0.1 at prices of 50 or more keep every order above the 5 USDT minimum."""
    sim, venue = sim_with_perp()
    for side, lots, cents in steps:
        sim.set_price("binance", "BTCPERP", D(cents) / 100)
        venue.place_order(KEY, symbol="BTCPERP", side=side, type="market",
                          quantity=D(lots) / 10)  # fmt: skip
    sim.set_price("binance", "BTCPERP", D(final) / 100)
    held = venue.positions(KEY)["BTCPERP"].quantity
    if held != 0:
        venue.place_order(KEY, symbol="BTCPERP", side="sell" if held > 0 else "buy",
                          type="market", quantity=abs(held))  # fmt: skip
    trades = venue.trades(KEY, "BTCPERP")
    flows = sum(((1 if t.side == "sell" else -1) * t.quantity * t.price for t in trades), D(0))
    fees = sum((t.quantity * t.price * D("0.001") for t in trades), D(0))
    position = venue.positions(KEY)["BTCPERP"]
    assert position.quantity == 0 and position.margin == 0
    usdt = venue.balances(KEY)["USDT"]
    assert usdt.locked == 0
    assert abs(usdt.free - (D(100000) + flows - fees)) < D("1e-18")
    assert abs(position.realised_pnl - flows) < D("1e-18")
