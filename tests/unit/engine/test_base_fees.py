"""Fees taken in the base asset (SPEC §6.2 "Fees are booked in the currency the exchange
reports"): a Binance spot buy pays 0.1 % of the quantity in BTC, so the account holds less
than the gross fill. TPs, exits, reduces and risk closes sell the net quantity rounded down
to the step; the sub-step remainder is dust, shown in the views, valued at the mark, and it
does not keep a group open.

The stand-in exchange (``base_fee_symbols``) charges the base fee on buys and rejects a sell
above the free base balance, as Binance would: every test checks nothing was rejected.
Grid of the seed user (SPEC §4 worked example): leg 0 0.00020 @ 95992.3, leg 1 0.00030 @
95512.33, leg 2 0.00050 @ 95032.37; per-leg TPs 96952.22 / 96467.45 / 96933.01.
"""

from __future__ import annotations

from decimal import Decimal

from engine.config import UserConfig
from engine.domain import MarketType, OrderSide, OrderType
from engine.domain.events import OrderFilled
from tests.kit.engine_builders import D, Harness, make_config, make_rules

FEE = D("0.001")
FILLS = ((D("0.00020"), D("95992.3")), (D("0.00030"), D("95512.33")), (D("0.00050"), D("95032.37")))


def _harness(config: UserConfig | None = None) -> Harness:
    h = Harness.seed(config, fee_rate=FEE, base_fee_symbols=("BTCUSDT",))
    h.price("95992.3")
    assert h.signal().outcome == "opened"
    return h


def _all_filled() -> Harness:
    h = _harness()
    h.path("95512.33", "95032.37")
    return h


def _mark_to_market(h: Harness, mark: Decimal) -> Decimal:
    """Σ sells − Σ buys + held × mark − quote fees, from the stand-in's fill log; the held
    quantity is what the account holds (bought − base fees − sold)."""
    total = held = Decimal(0)
    for fill in h.fills:
        command = h.book[fill.client_order_id].command
        value = fill.quantity * fill.price
        if command.side is OrderSide.BUY:
            total -= value
            held += fill.quantity
        else:
            total += value
            held -= fill.quantity
        if fill.fee_asset == "BTC":
            held -= fill.fee
        else:
            total -= fill.fee
    assert held == h.base_held[("binance", "BTCUSDT")]
    return total + held * mark


def test_spec_4_example_with_a_base_fee_tp_is_net_and_rounded_down() -> None:
    h = _harness()
    (leg0_fill,) = h.fills
    assert (leg0_fill.fee, leg0_fill.fee_asset) == (D("0.0000002"), "BTC")  # 0.1 % × 0.00020
    group = h.engine.group("g1")
    assert group is not None
    leg = group.pyramids[0].legs[0]
    # net 0.00020 − 0.0000002 = 0.0001998; TP 0.00019 (step 0.00001); dust 0.0000098
    assert (leg.filled_quantity, leg.base_fee_quantity) == (D("0.00020"), D("0.0000002"))
    assert (leg.open_quantity, leg.sellable_quantity, leg.dust_quantity) == (
        D("0.0001998"),
        D("0.00019"),
        D("0.0000098"),
    )
    (tp,) = h.placed("tp")
    assert (tp.side, tp.type, tp.quantity, tp.price) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        D("0.00019"),
        D("96952.22"),
    )
    # the fee is realised at the fill price: −0.0000002 × 95992.3 = −0.01919846
    assert group.realised_usd == D("-0.01919846")
    assert group.average_entry == D("95992.3")  # the held part keeps the fill price
    assert (group.open_quantity, group.sellable_quantity, group.dust_quantity) == (
        D("0.0001998"),
        D("0.00019"),
        D("0.0000098"),
    )
    assert h.rejected() == []


def test_every_leg_tp_fills_and_the_group_closes_with_its_dust() -> None:
    h = _all_filled()
    tps = sorted((c.client_order_id, c.quantity) for c in h.placed("tp"))
    # nets 0.0002997 and 0.0004995 → 0.00029 and 0.00049
    assert tps == [
        ("q-g1-p0-l0-tp-0", D("0.00019")),
        ("q-g1-p0-l1-tp-0", D("0.00029")),
        ("q-g1-p0-l2-tp-0", D("0.00049")),
    ]
    h.price("96952.22")  # every TP price is crossed
    assert h.rejected() == []
    group = h.engine.group("g1")
    assert group is not None
    assert (group.status, group.close_reason) == ("closed", "take_profit")
    assert [leg.status for leg in group.pyramids[0].legs] == ["closed"] * 3
    # dust 0.0000098 + 0.0000097 + 0.0000095 = 0.000029, still held by the account
    assert group.dust_quantity == group.open_quantity == D("0.000029")
    assert [leg.dust_quantity for leg in group.pyramids[0].legs] == [
        D("0.0000098"),
        D("0.0000097"),
        D("0.0000095"),
    ]
    assert h.base_held[("binance", "BTCUSDT")] == D("0.000029")
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 0  # the dust holds no slot
    # realised per leg = TP qty × (TP − fill) − TP fee (0.1 % of its notional) − base fee × fill
    # leg 0: 0.00019 × 959.92 = 0.1823848; fee 18.4209218 × 0.001 = 0.0184209218;
    #        base 0.0000002 × 95992.3 = 0.01919846 → 0.1447654182
    # leg 1: 0.00029 × 955.12 = 0.2769848; fee 27.9755605 × 0.001 = 0.0279755605;
    #        base 0.0000003 × 95512.33 = 0.028653699 → 0.2203555405
    # leg 2: 0.00049 × 1900.64 = 0.9313136; fee 47.4971749 × 0.001 = 0.0474971749;
    #        base 0.0000005 × 95032.37 = 0.047516185 → 0.8363002401
    assert group.realised_usd == D("0.1447654182") + D("0.2203555405") + D("0.8363002401")
    # the dust at the mark 96952.22: 0.0000098 × 959.92 + 0.0000097 × 1439.89
    # + 0.0000095 × 1919.85 = 0.009407216 + 0.013966933 + 0.018238575
    assert group.unrealised_usd == D("0.009407216") + D("0.013966933") + D("0.018238575")
    mark = D("96952.22")
    assert group.realised_usd + group.unrealised_usd == _mark_to_market(h, mark)


def test_exit_sweeps_whole_steps_of_the_dust_at_group_level() -> None:
    h = _all_filled()
    h.price("95500")
    assert h.signal(type="exit", side=None).outcome == "exited"
    (close,) = h.placed("exit")
    # held 0.0001998 + 0.0002997 + 0.0004995 = 0.000999 → 0.00099 (per-leg steps would
    # sell only 0.00019 + 0.00029 + 0.00049 = 0.00097)
    assert (close.side, close.type, close.quantity) == (
        OrderSide.SELL,
        OrderType.MARKET,
        D("0.00099"),
    )
    assert h.rejected() == []
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # legs give their whole steps, then the remainders in leg order: leg 0 0.0001998,
    # leg 1 0.0002997, leg 2 0.00049 + 0.0000005 = 0.0004905; leg 2 keeps 0.000009
    assert [leg.open_quantity for leg in group.pyramids[0].legs] == [0, 0, D("0.000009")]
    assert group.dust_quantity == D("0.000009")
    # realised: base fees −(0.01919846 + 0.028653699 + 0.047516185) = −0.095368344
    # closes at 95500: 0.0001998 × −492.3 = −0.09836154; 0.0002997 × −12.33 = −0.003695301;
    # 0.0004905 × 467.63 = 0.229372515; fee 0.00099 × 95500 × 0.001 = 0.094545
    expected = (
        D("-0.095368344") - D("0.09836154") - D("0.003695301") + D("0.229372515") - D("0.094545")
    )
    assert group.realised_usd == expected == D("-0.06259767")
    assert group.unrealised_usd == D("0.000009") * (D("95500") - D("95032.37"))
    assert group.realised_usd + group.unrealised_usd == _mark_to_market(h, D("95500"))


def test_reduce_takes_whole_steps_and_tps_shrink_to_the_net_rest() -> None:
    h = _all_filled()
    assert h.signal(type="reduce", side=None, order_size="50").outcome == "reduced"
    (close,) = h.placed("reduce")
    # 50 % of the held 0.000999 = 0.0004995 → 0.00049
    assert close.quantity == D("0.00049")
    assert h.rejected() == []
    group = h.engine.group("g1")
    assert group is not None
    # pro rata: exact 0.000098 / 0.000147 / 0.000245 → floors 0.00009 / 0.00014 / 0.00024,
    # the 2 steps left go to the largest remainders (leg 0, leg 1): 0.0001 / 0.00015 / 0.00024
    legs = group.pyramids[0].legs
    assert [leg.open_quantity for leg in legs] == [D("0.0000998"), D("0.0001497"), D("0.0002595")]
    live_tps = sorted((o.command.client_order_id, o.remaining) for o in h.open_on_exchange("tp"))
    assert live_tps == [
        ("q-g1-p0-l0-tp-1", D("0.00009")),
        ("q-g1-p0-l1-tp-1", D("0.00014")),
        ("q-g1-p0-l2-tp-1", D("0.00025")),
    ]
    assert group.realised_usd + group.unrealised_usd == _mark_to_market(h, D("95032.37"))


def test_engine_watched_tp_sells_the_net_quantity() -> None:
    h = _harness(make_config(grid={"tp_order_type": "market"}))
    h.price("96960")
    (close,) = h.placed("tp")
    assert (close.type, close.quantity) == (OrderType.MARKET, D("0.00019"))
    h.price("97000")  # the leg's dust triggers nothing more
    assert len(h.placed("tp")) == 1 and h.rejected() == []


def test_dust_alone_keeps_no_tp_and_an_exit_closes_it_without_an_order() -> None:
    h = _harness()
    h.price("96952.22")  # leg 0's TP fills; the DCA legs still rest
    group = h.engine.group("g1")
    assert group is not None
    assert group.status == "partially_filled"  # resting DCA legs keep it open
    assert (group.open_quantity, group.sellable_quantity) == (D("0.0000098"), D("0"))
    assert h.signal(type="exit", side=None).outcome == "exited"
    assert h.placed("exit") == []  # 0.0000098 is below one step: nothing to send
    group = h.engine.group("g1")
    assert group is not None
    assert (group.status, group.dust_quantity) == ("closed", D("0.0000098"))
    assert sorted(c.client_order_id for c in h.cancels()) == [
        "q-g1-p0-l1-dca-0",
        "q-g1-p0-l2-dca-0",
    ]


def test_a_base_fee_not_below_the_fill_is_refused() -> None:
    h = Harness.seed(auto_fill=False)
    h.price("95992.3")
    h.signal()
    decision = h.feed(
        OrderFilled("q-g1-p0-l0-entry-0", D("0.0001"), D("95992.3"), D("0.0001"), "BTC", h.now)
    )
    (problem,) = [a for a in decision.audit if a.data.get("reason") == "invalid_fill"]
    assert problem.data["field"] == "fee"
    group = h.engine.group("g1")
    assert group is not None and group.pyramids[0].legs[0].filled_quantity == 0


def test_short_on_a_linear_market_pays_fees_in_quote_and_keeps_no_dust() -> None:
    h = Harness.seed(fee_rate=FEE, rules=(make_rules(market_type=MarketType.LINEAR),))
    h.price("95992.3")
    assert h.signal(side="short").outcome == "opened"
    (entry_fill,) = h.fills
    # 0.00020 × 95992.3 × 0.001 = 0.01919846 USDT
    assert (entry_fill.fee, entry_fill.fee_asset) == (D("0.01919846"), "USDT")
    (tp,) = h.placed("tp")
    assert (tp.side, tp.quantity) == (OrderSide.BUY, D("0.00020"))  # the whole filled quantity
    group = h.engine.group("g1")
    assert group is not None
    leg = group.pyramids[0].legs[0]
    assert (leg.open_quantity, leg.sellable_quantity, leg.dust_quantity) == (
        D("0.00020"),
        D("0.00020"),
        D("0"),
    )
    assert h.signal(type="exit", side=None).outcome == "exited"
    (close,) = h.placed("exit")
    assert (close.side, close.quantity) == (OrderSide.BUY, D("0.00020"))
    group = h.engine.group("g1")
    assert group is not None and (group.status, group.dust_quantity) == ("closed", D("0"))
    # sold 0.0002 and bought back at the same price: only the two quote fees are lost
    assert group.realised_usd == -2 * D("0.01919846")


def test_risk_offset_closes_net_quantities_in_whole_steps() -> None:
    """One-level grids, no TP orders; XRP and DOGE spot with 0.1 % base fees on buys."""
    config = make_config(
        risk={
            "require_full_pyramids": False,
            "max_open_positions_global": 6,
            "max_total_exposure_usd": "100000",
            "post_full_wait_minutes": 2,
        },
        grid={
            "levels": [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "1"}],
            "tp_mode": "aggregate",
            "tp_aggregate_percent": "0",
        },
    )
    rules = (
        make_rules("XRPUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
        make_rules("DOGEUSDT", tick="0.00001", step="1", min_qty="1"),
    )
    h = Harness.seed(config, rules=rules, fee_rate=FEE, base_fee_symbols=("XRPUSDT", "DOGEUSDT"))
    for symbol, price in (("XRPUSDT", "2.0"), ("DOGEUSDT", "0.2")):
        h.price(price, symbol=symbol)
        h.signal(symbol=symbol, entry_price=price, order_size="100", size_type="quote")
    # loser: 100 / 2.0 = 50.0 XRP, fee 0.05 XRP → holds 49.95; winner: 500 DOGE − 0.5 = 499.5
    h.price("1.9", symbol="XRPUSDT")
    h.price("0.22", symbol="DOGEUSDT")
    h.advance(120)
    (action,) = h.risk_actions
    # required = 49.95 × 0.1 = 4.995 <= available 499.5 × 0.02 = 9.99: the whole loser,
    # i.e. its 49.95 rounded down to 49.9 (its 0.05 XRP is dust)
    assert action.loser_close_quantity == D("49.9")
    # loser cost per unit 0.1 + 1.9 × 0.001 = 0.1019 → 49.9 × 0.1019 = 5.08481 to pay;
    # winner gain per unit 0.02 − 0.22 × 0.001 = 0.01978 → 5.08481 / 0.01978 = 257.07 → 258
    assert [w.quantity for w in action.winners] == [D("258")]
    assert [(c.symbol, c.quantity) for c in h.placed("risk")] == [
        ("XRPUSDT", D("49.9")),
        ("DOGEUSDT", D("258")),
    ]
    assert h.rejected() == []
    loser = h.engine.group(action.loser_group_id)
    winner = h.engine.group(action.winners[0].group_id)
    assert loser is not None and winner is not None
    assert (loser.status, loser.dust_quantity) == ("closed", D("0.05"))
    # the winner keeps 499.5 − 258 = 241.5, of which 241 can be sold
    assert (winner.status, winner.open_quantity, winner.sellable_quantity) == (
        "active",
        D("241.5"),
        D("241"),
    )
