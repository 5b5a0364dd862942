"""Hypothesis properties of matching and accounting (XRPUSDT: tick 0.0001, step 0.1).

* no fill outside the range of prices the market actually traded at;
* balances equal an independent replay of the trade list (quote and base conserve value:
  each trade changes quote + base x trade price only by its fee), and locked funds equal
  what the open orders hold;
* partial fills add up to the order, and FILLED means fully filled;
* the same inputs give the same events.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import SimOrderStatus
from tests.kit.simulator import KEY, D, funded_sim, points_path

TICK = D("0.0001")
START = D("1.874")

prices = st.lists(st.integers(15_000, 22_000), min_size=1, max_size=25)  # in ticks
orders = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(15_000, 22_000),
        st.integers(40, 400),  # tenths of XRP: 4.0 .. 40.0 (4 x 1.5 >= min notional 5)
        st.sampled_from(["limit", "market"]),
    ),
    min_size=1,
    max_size=12,
)
liquidity = st.one_of(st.none(), st.integers(1, 100).map(lambda tenths: D(tenths) / 10))


def run(path_ticks, order_specs, capacity):  # type: ignore[no-untyped-def]
    sim = funded_sim(balances={"USDT": D(100_000), "XRP": D(100_000)}, liquidity_per_tick=capacity)
    venue = sim.venue("binance")
    points = [(0, str(START))] + [(1000 * (i + 1), str(TICK * t)) for i, t in enumerate(path_ticks)]
    sim.load_path(points_path({"XRPUSDT": points}))
    placed = []
    for side, price_ticks, tenths, kind in order_specs:
        kwargs: dict[str, object] = {"quantity": D(tenths) / 10}
        if kind == "limit":
            kwargs["price"] = TICK * price_ticks
        placed.append(venue.place_order(KEY, symbol="XRPUSDT", side=side, type=kind, **kwargs))
    events = sim.advance(until_ms=sim.clock_ms + 1000 * (len(path_ticks) + 1))
    return sim, venue, placed, events


@settings(max_examples=60, deadline=None)
@given(prices, orders, liquidity)
def test_matching_and_accounting_invariants(path_ticks, order_specs, capacity) -> None:  # type: ignore[no-untyped-def]
    _, venue, _, events = run(path_ticks, order_specs, capacity)
    traded = [START] + [TICK * t for t in path_ticks]
    trades = venue.trades(KEY, "XRPUSDT")
    # 1. no fill outside the path's range
    for trade in trades:
        assert min(traded) <= trade.price <= max(traded)
        if trade.is_maker:  # a resting order fills at its own limit, which the path crossed
            order = venue.get_order(KEY, symbol="XRPUSDT", order_id=trade.order_id)
            assert trade.price == order.price
    # 2. balances = independent replay of the trades
    quote, base = D(100_000), D(100_000)
    for trade in trades:
        cost = trade.quantity * trade.price
        if trade.side == "buy":
            quote -= cost
            base += trade.quantity - trade.quantity * D("0.001")
        else:
            base -= trade.quantity
            quote += cost - cost * D("0.001")
        assert trade.fee == (
            trade.quantity * D("0.001") if trade.side == "buy" else cost * D("0.001")
        )
    balances = venue.balances(KEY)
    assert balances["USDT"].total == quote
    assert balances["XRP"].total == base
    open_orders = venue.open_orders(KEY)
    assert balances["USDT"].locked == sum(
        (o.remaining_quantity * o.price for o in open_orders if o.side == "buy"), Decimal(0)
    )
    assert balances["XRP"].locked == sum(
        (o.remaining_quantity for o in open_orders if o.side == "sell"), Decimal(0)
    )
    assert balances["USDT"].free >= 0 and balances["XRP"].free >= 0
    # 3. partial fills add up; FILLED iff complete
    for order in venue.all_orders(KEY):
        assert sum((f.quantity for f in order.fills), Decimal(0)) == order.filled_quantity
        assert order.filled_quantity <= order.quantity
        assert (order.status == SimOrderStatus.FILLED) == (order.filled_quantity == order.quantity)
    # events report fills in time order
    times = [e.time_ms for e in events]
    assert times == sorted(times)


@settings(max_examples=20, deadline=None)
@given(prices, orders, liquidity)
def test_same_inputs_same_outputs(path_ticks, order_specs, capacity) -> None:  # type: ignore[no-untyped-def]
    first = run(path_ticks, order_specs, capacity)
    second = run(path_ticks, order_specs, capacity)
    assert first[2] == second[2] and first[3] == second[3]
    assert first[1].balances(KEY) == second[1].balances(KEY)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["buy", "sell"]), st.integers(40, 400), st.integers(15_000, 22_000)
        ),
        min_size=1,
        max_size=10,
    )
)
def test_each_fill_changes_value_by_its_fee_only(steps) -> None:  # type: ignore[no-untyped-def]
    """Marked at the fill price, quote + base x price moves by exactly minus the fee."""
    sim = funded_sim(balances={"USDT": D(100_000), "XRP": D(100_000)})
    venue = sim.venue("bybit")
    for side, tenths, price_ticks in steps:
        sim.set_price("bybit", "XRPUSDT", TICK * price_ticks)
        before = venue.balances(KEY)
        order = venue.place_order(KEY, symbol="XRPUSDT", side=side, type="market",
                                  quantity=D(tenths) / 10)  # fmt: skip
        after = venue.balances(KEY)
        (fill,) = order.fills
        assert fill.price == TICK * price_ticks
        fee_in_quote = fill.fee * fill.price if fill.fee_asset == "XRP" else fill.fee
        change = (after["USDT"].total - before["USDT"].total) + (
            after["XRP"].total - before["XRP"].total
        ) * fill.price
        assert change == -fee_in_quote
