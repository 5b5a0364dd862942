"""What the fast replay watches for a group, and carrying out commands on the simulator."""

from __future__ import annotations

from decimal import Decimal

from backtest.execution import carry_out
from backtest.setup import ReplayOptions, UserSetup, build_replay
from backtest.signal_sources import TimedPayload
from backtest.watch import to_ticks_above, to_ticks_below
from engine.domain import CancelOrder, OrderPurpose, OrderSide, OrderType, PlaceOrder
from engine.domain.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from simulator import Simulator
from simulator.adapter import SimExchangeAdapter
from tests.kit.backtest import T0, config_with, entry
from tests.unit.backtest.test_assumptions import BARS

D = Decimal


def test_tick_conversions_round_towards_the_trigger() -> None:
    tick = D("0.01")
    assert to_ticks_below(D("93100.005"), tick) == 9_310_000  # 93100.00 is still <= level
    assert to_ticks_above(D("95760.001"), tick) == 9_576_001  # 95760.01 is the first >=
    assert to_ticks_below(D("92150"), tick, margin=1) == 9_215_001


def test_group_watch_of_an_aggregate_group_with_a_stop() -> None:
    config = config_with(
        {
            "dca_grid_config.tp_mode": "aggregate",
            "dca_grid_config.tp_aggregate_percent": "0.8",
            "dca_grid_config.stop_loss_percent": "2",
        }
    )
    replay = build_replay(
        frames={"BTCUSDT": BARS["BTCUSDT"].iloc[:1]},  # one flat bar at 95000
        payloads=[TimedPayload(T0 + 1_000, entry(T0 + 1_000, "BTCUSDT"), 1)],
        users=[UserSetup("maaz", config, {"USDT": D(10_000)})],
        options=ReplayOptions(),
    )
    replay.run()
    (watch,) = replay.lanes[0].watches.values()
    # leg 0: 0.00021 filled at 95000 (legs 1 and 2 rest below)
    assert watch.average == D("95000.00") and watch.open_quantity == D("0.00021")
    assert watch.triggers.low == D("93100.0000")  # stop: 95000 x (1 - 2 %)
    assert watch.triggers.high == D("95760.00")  # aggregate TP: 95000 x 1.008
    assert watch.loser_price == D("92150.00")  # loss threshold -3 %
    assert watch.closable == D("0.00021")
    assert watch.notional_from == D(10) / D("0.00021")  # min_close_notional 10
    # resting entries: 0.00031 @ 94525 + 0.00053 @ 94050 (committed capital, SPEC §8.1)
    assert watch.resting_entry_notional == D("0.00031") * D("94525") + D("0.00053") * D("94050")
    assert replay.lanes[0].bands[("binance", "BTCUSDT")] == (9_310_000, 9_576_000)


def _order(
    cid: str, side: OrderSide, kind: OrderType, quantity: str, price: str | None
) -> PlaceOrder:
    return PlaceOrder(
        client_order_id=cid,
        user_id="u",
        exchange="binance",
        symbol="BTCUSDT",
        side=side,
        type=kind,
        quantity=D(quantity),
        price=None if price is None else D(price),
        purpose=OrderPurpose.ENTRY,
        group_id="g1",
    )


def test_carry_out_place_fill_reject_and_cancel_after_fill() -> None:
    sim = Simulator(spot_buy_fee_asset="quote")
    sim.create_account("u", "s", {"USDT": D(1_000)})
    ports = {"binance": SimExchangeAdapter(sim, "binance", "u")}
    market = _order("m1", OrderSide.BUY, OrderType.MARKET, "0.001", None)
    accepted, filled = carry_out(market, ports, None, 5)
    assert isinstance(accepted, OrderAccepted) and isinstance(filled, OrderFilled)
    # at the seed price 95992.30; fee 0.1 % in quote = 0.0959923
    assert (filled.price, filled.fee, filled.fee_asset, filled.at_ms) == (
        D("95992.30"),
        D("0.0959923"),
        "USDT",
        5,
    )
    too_big = _order("m2", OrderSide.BUY, OrderType.MARKET, "1", None)  # 95,992 USDT > 1,000
    (rejected,) = carry_out(too_big, ports, None, 6)
    assert isinstance(rejected, OrderRejected) and rejected.reason == "insufficient_balance"
    resting = _order("l1", OrderSide.BUY, OrderType.LIMIT, "0.001", "95000")
    assert [type(e) for e in carry_out(resting, ports, None, 7)] == [OrderAccepted]
    sim.set_price("binance", "BTCUSDT", D("94999"))  # fills it at 95000
    cancel = CancelOrder("l1", "u", "binance", "BTCUSDT")
    events = carry_out(cancel, ports, None, 8)  # found filled while cancelling: booked
    assert [type(e) for e in events if not isinstance(e, OrderAccepted)] == [OrderFilled]
    missing = CancelOrder("nope", "u", "binance", "BTCUSDT")
    assert [type(e) for e in carry_out(missing, ports, None, 9)] == [OrderCancelled]
