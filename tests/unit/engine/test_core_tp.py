"""Take-profit modes, stop-loss, exit, reduce and reverse through the Engine (SPEC §6.3–6.5).

Prices follow the seed grid: leg 0 fills at 95992.3, DCA legs rest at 95512.33 (0.00030)
and 95032.37 (0.00050); per-leg TPs 96952.22 / 96467.45 / 96933.01; average of all three
legs 95368.344 (see test_core_grid for the arithmetic).
"""

from __future__ import annotations

from decimal import Decimal

from engine.domain import OrderType
from tests.kit.engine_builders import BTC_RULES, D, Harness, make_config, make_rules


def _closed_quantity(h: Harness, group_id: str = "g1") -> Decimal:
    """Σ of every fill of a closing order of the group, as the exchange saw it."""
    total = Decimal(0)
    for fill in h.fills:
        command = h.book[fill.client_order_id].command
        if command.group_id == group_id and command.purpose.value not in ("entry", "dca"):
            total += fill.quantity
    return total


def _filled_quantity(h: Harness, group_id: str = "g1") -> Decimal:
    total = Decimal(0)
    for fill in h.fills:
        command = h.book[fill.client_order_id].command
        if command.group_id == group_id and command.purpose.value in ("entry", "dca"):
            total += fill.quantity
    return total


def _open_tp_quantities(h: Harness) -> list[tuple[str, Decimal]]:
    return sorted(
        (order.command.client_order_id, order.remaining) for order in h.open_on_exchange("tp")
    )


def test_per_leg_limit_tp_tops_up_on_partial_fills() -> None:
    h = Harness.seed(auto_fill=False)
    h.price("95992.3")
    h.signal()
    leg0 = h.placed("entry")[0].client_order_id
    h.fill(leg0, "0.00010", "95992.3")
    # TP for the filled 0.00010 at once; DCA legs wait for leg 0 to finish
    assert _open_tp_quantities(h) == [("q-g1-p0-l0-tp-0", D("0.00010"))]
    assert h.placed("dca") == []
    h.fill(leg0, "0.00010", "95992.3")
    # topped up by cancel + replace: one TP for the whole filled 0.00020
    assert [c.client_order_id for c in h.cancels()] == ["q-g1-p0-l0-tp-0"]
    assert _open_tp_quantities(h) == [("q-g1-p0-l0-tp-1", D("0.00020"))]
    assert len(h.placed("dca")) == 2
    # DCA leg 1 partially fills 0.00010 of 0.00030, then the rest
    leg1 = h.placed("dca")[0].client_order_id
    h.fill(leg1, "0.00010", "95512.33")
    assert ("q-g1-p0-l1-tp-0", D("0.00010")) in _open_tp_quantities(h)
    h.fill(leg1, "0.00020", "95512.33")
    assert ("q-g1-p0-l1-tp-1", D("0.00030")) in _open_tp_quantities(h)
    group = h.engine.group("g1")
    assert group is not None
    legs = group.pyramids[0].legs
    assert [leg.open_quantity for leg in legs[:2]] == [D("0.00020"), D("0.00030")]
    # a TP that partially fills still matches the open quantity: nothing is replaced
    tp0 = "q-g1-p0-l0-tp-1"
    cancels_before = len(h.cancels())
    h.fill(tp0, "0.00005", "96952.22")
    assert len(h.cancels()) == cancels_before
    group = h.engine.group("g1")
    assert group is not None and group.pyramids[0].legs[0].open_quantity == D("0.00015")
    # realised = (96952.22 − 95992.3) × 0.00005 = 959.92 × 0.00005 = 0.047996
    assert group.realised_usd == D("0.047996")


def test_per_leg_tp_closes_only_its_leg_and_keeps_the_slot() -> None:
    h = Harness.seed()
    h.price("95992.3")
    h.signal()
    h.price("96952.22")  # leg 0's TP fills; DCA legs still rest
    group = h.engine.group("g1")
    assert group is not None
    assert group.open_quantity == 0
    assert group.status == "partially_filled"  # resting DCA legs keep it open
    assert group.pyramids[0].legs[0].status == "closed"
    # (96952.22 − 95992.3) × 0.0002 = 959.92 × 0.0002 = 0.191984
    assert group.realised_usd == D("0.191984")
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 1


def test_per_leg_market_tp_watched_by_the_engine() -> None:
    h = Harness.seed(make_config(grid={"tp_order_type": "market"}))
    h.price("95992.3")
    h.signal()
    assert h.placed("tp") == []  # nothing rests on the exchange
    h.price("96952.21")  # one tick below leg 0's TP 96952.22: nothing
    assert h.placed("tp") == []
    h.price("96960")
    (close,) = h.placed("tp")
    assert (close.type, close.quantity, close.client_order_id) == (
        OrderType.MARKET,
        D("0.00020"),
        "q-g1-p0-l0-tp-0",
    )
    group = h.engine.group("g1")
    assert group is not None
    # filled at the mark 96960: (96960 − 95992.3) × 0.0002 = 967.7 × 0.0002 = 0.19354
    assert group.realised_usd == D("0.19354")
    h.price("97000")  # the closed leg does not fire again
    assert len(h.placed("tp")) == 1


def test_aggregate_tp_cancels_resting_legs_and_closes_at_market() -> None:
    config = make_config(grid={"tp_mode": "aggregate", "tp_aggregate_percent": "1"})
    h = Harness.seed(config)
    h.price("95992.3")
    h.signal()
    assert h.placed("tp") == []
    # target 95992.3 × 1.01 = 96952.223 → 96952.22 (tick); legs 1 and 2 still rest
    h.price("96952.21")
    assert h.placed("atp") == []
    h.price("96952.22")
    assert sorted(c.client_order_id for c in h.cancels()) == [
        "q-g1-p0-l1-dca-0",
        "q-g1-p0-l2-dca-0",
    ]
    (close,) = h.placed("atp")
    assert (close.type, close.quantity) == (OrderType.MARKET, D("0.00020"))
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    assert group.close_reason == "aggregate_take_profit"
    assert group.realised_usd == D("0.191984")  # 959.92 × 0.0002


def test_aggregate_tp_on_the_average_of_all_legs() -> None:
    config = make_config(grid={"tp_mode": "aggregate", "tp_aggregate_percent": "1"})
    h = Harness.seed(config)
    h.path("95992.3")
    h.signal()
    h.path("95512.33", "95032.37")
    # average 95368.344 × 1.01 = 96322.02744 → 96322.02
    h.price("96322.01")
    assert h.placed("atp") == []
    h.price("96322.02")
    (close,) = h.placed("atp")
    assert close.quantity == D("0.00100")
    group = h.engine.group("g1")
    assert group is not None
    # 0.001 × 96322.02 − 95.368344 = 96.32202 − 95.368344 = 0.953676
    assert group.realised_usd == D("0.953676")


def test_hybrid_aggregate_first_cancels_per_leg_tps_never_double_closes() -> None:
    config = make_config(grid={"tp_mode": "hybrid", "tp_aggregate_percent": "0.5"})
    h = Harness.seed(config)
    h.price("95992.3")
    h.signal()
    h.path("95512.33", "95032.37")
    assert len(h.open_on_exchange("tp")) == 3
    # aggregate: 95368.344 × 1.005 = 95845.18572 → 95845.18, below every per-leg TP
    h.price("95845.18")
    cancelled = sorted(c.client_order_id for c in h.cancels())
    assert cancelled == ["q-g1-p0-l0-tp-0", "q-g1-p0-l1-tp-0", "q-g1-p0-l2-tp-0"]
    (close,) = h.placed("atp")
    assert close.quantity == D("0.00100")
    h.path("96500", "97000")  # the per-leg TP prices pass: nothing else closes
    assert _closed_quantity(h) == _filled_quantity(h) == D("0.00100")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # 0.001 × 95845.18 − 95.368344 = 95.84518 − 95.368344 = 0.476836
    assert group.realised_usd == D("0.476836")


def test_hybrid_aggregate_while_a_tp_fills_during_the_cancel() -> None:
    """A per-leg TP found filled while being cancelled is booked; the market close takes
    only what is left (first trigger wins, nothing closed twice)."""
    config = make_config(grid={"tp_mode": "hybrid", "tp_aggregate_percent": "0.5"})
    h = Harness.seed(config, auto_cancel=False)
    h.price("95992.3")
    h.signal()
    h.path("95512.33", "95032.37")
    h.price("95845.18")  # aggregate fires, cancels are requested but not yet confirmed
    assert h.placed("atp") == []  # the close waits for the cancels
    h.fill("q-g1-p0-l1-tp-0", "0.00030", "96467.45")  # leg 1's TP filled meanwhile
    h.confirm_cancel("q-g1-p0-l0-tp-0")
    assert h.placed("atp") == []
    h.confirm_cancel("q-g1-p0-l2-tp-0")
    (close,) = h.placed("atp")
    assert close.quantity == D("0.00070")  # 0.001 − the 0.0003 the TP already closed
    assert _closed_quantity(h) == D("0.00100")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed" and group.open_quantity == 0


def test_hybrid_per_leg_tps_first_then_nothing_left_for_the_aggregate() -> None:
    config = make_config(grid={"tp_mode": "hybrid", "tp_aggregate_percent": "3"})
    h = Harness.seed(config)
    h.price("95992.3")
    h.signal()
    h.path("95512.33", "95032.37", "96467.45", "97000")
    assert h.placed("atp") == []
    assert _closed_quantity(h) == D("0.00100")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"


def test_pyramid_aggregate_closes_each_pyramid_on_its_own() -> None:
    config = make_config(grid={"tp_mode": "pyramid_aggregate", "tp_aggregate_percent": "1"})
    h = Harness.seed(config)
    h.price("95992.3")
    h.signal(signal_id="p0")
    h.price("95500")  # fills pyramid 0's leg 1 at 95512.33
    h.signal(signal_id="p1", entry_price="95500")
    # pyramid 0: (0.0002 × 95992.3 + 0.0003 × 95512.33) / 0.0005 = 47.852159 / 0.0005
    #   = 95704.318 → target × 1.01 = 96661.36118 → 96661.36
    # pyramid 1: leg 0 0.0002 @ 95500 → target 96455.00
    h.price("96455")
    (first,) = h.placed("atp")
    assert (first.quantity, first.client_order_id) == (D("0.00020"), "q-g1-p1-l0-atp-0")
    cancelled = sorted(c.client_order_id for c in h.cancels())
    assert cancelled == ["q-g1-p1-l1-dca-0", "q-g1-p1-l2-dca-0"]
    group = h.engine.group("g1")
    assert group is not None and group.status != "closed"
    assert group.pyramids[1].status == "aggregate_closed"
    h.price("96661.35")
    assert len(h.placed("atp")) == 1
    h.price("96661.36")
    second = h.placed("atp")[1]
    assert second.quantity == D("0.00050")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # 0.0002 × (96455 − 95500) = 0.191; 0.0005 × 96661.36 − 47.852159 = 0.478521
    assert group.realised_usd == D("0.191") + D("0.478521")


def test_stop_loss_from_the_signal_exits_the_group() -> None:
    h = Harness.seed()
    h.price("95992.3")
    h.signal(stop_loss="94000")
    h.price("94000")  # DCA legs fill on the way down, then the stop triggers
    (close,) = h.placed("stop")
    assert close.quantity == D("0.00100")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed" and group.close_reason == "stop_loss"
    # 0.001 × 94000 − 95.368344 = −1.368344
    assert group.realised_usd == D("-1.368344")
    assert group.closed_at_ms is not None


def test_stop_loss_percent_from_the_average() -> None:
    h = Harness.seed(make_config(grid={"stop_loss_percent": "2"}))
    h.price("95992.3")
    h.signal()
    h.path("95032.37")
    # stop = 95368.344 × 0.98 = 93460.97712
    h.price("93461")
    assert h.placed("stop") == []
    h.price("93460.97")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # 0.001 × 93460.97 − 95.368344 = 93.46097 − 95.368344 = −1.907374
    assert group.realised_usd == D("-1.907374")


def test_exit_cancels_everything_closes_and_frees_the_slot() -> None:
    h = Harness.seed()
    h.price("95992.3")
    h.signal()
    h.price("95500")  # leg 1 filled
    outcome = h.signal(type="exit", side=None)
    assert (outcome.outcome, outcome.group_id) == ("exited", "g1")
    cancelled = sorted(c.client_order_id for c in h.cancels())
    # the resting DCA leg 2 and the TPs of legs 0 and 1
    assert cancelled == ["q-g1-p0-l0-tp-0", "q-g1-p0-l1-tp-0", "q-g1-p0-l2-dca-0"]
    (close,) = h.placed("exit")
    assert close.quantity == D("0.00050")
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"
    # 0.0005 × 95500 − (19.19846 + 28.653699) = 47.75 − 47.852159 = −0.102159
    assert group.realised_usd == D("-0.102159")
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 0
    again = h.signal(type="exit", side=None)
    assert (again.outcome, again.reason) == ("exit_noop", "nothing_open")


def test_exit_with_the_market_close_rejected_retries_later() -> None:
    h = Harness.seed()
    h.price("95992.3")
    h.signal()
    h.reject_next["exit"] = "exchange_unavailable"
    h.signal(type="exit", side=None)
    group = h.engine.group("g1")
    assert group is not None and group.status == "closing"
    h.advance(5)
    assert len(h.placed("exit")) == 1  # not before evaluate_interval_seconds (10)
    h.advance(5)
    assert len(h.placed("exit")) == 2
    group = h.engine.group("g1")
    assert group is not None and group.status == "closed"


def test_reduce_closes_a_percentage_pro_rata_and_shrinks_tps() -> None:
    h = Harness.seed()
    h.price("95992.3")
    h.signal()
    h.path("95512.33", "95032.37")
    outcome = h.signal(type="reduce", side=None, order_size="50")
    assert (outcome.outcome, outcome.group_id) == ("reduced", "g1")
    (close,) = h.placed("reduce")
    assert close.quantity == D("0.00050")  # 50 % of 0.001
    group = h.engine.group("g1")
    assert group is not None
    # pro rata over legs 0.0002 / 0.0003 / 0.0005 → 0.0001 / 0.00015 / 0.00025 closed
    assert [leg.open_quantity for leg in group.pyramids[0].legs] == [
        D("0.00010"),
        D("0.00015"),
        D("0.00025"),
    ]
    remaining = sorted(order.remaining for order in h.open_on_exchange("tp"))
    assert remaining == [D("0.00010"), D("0.00015"), D("0.00025")]
    # closed at 95032.37: 0.0001 × (95032.37 − 95992.3) + 0.00015 × (95032.37 − 95512.33)
    #   = −0.095993 − 0.071994 = −0.167987 (leg 2 closes at its own price: 0)
    assert group.realised_usd == D("-0.167987")
    assert group.status == "active"
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 1


def test_reverse_exits_then_opens_the_other_side() -> None:
    linear = make_rules("ETHUSDT", market_type=BTC_RULES.market_type.__class__("linear"))
    h = Harness.seed(rules=(BTC_RULES, linear))
    h.price("3394.0", symbol="ETHUSDT")
    eth = {"symbol": "ETHUSDT", "entry_price": "3394.0", "order_size": "0.03"}
    assert h.signal(**eth).outcome == "opened"
    outcome = h.signal(type="reverse", side="short", signal_id="rev", **eth)
    assert outcome.outcome == "reversed"
    assert "Opposite side signal, queuing until closure" in h.messages()
    first = h.engine.group("g1")
    second = h.engine.group("g2")
    assert first is not None and first.status == "closed" and first.close_reason == "reverse"
    assert second is not None and second.side == "short" and second.status != "closed"
    promoted = [o for o in h.outcomes if o.signal_id == "rev"]
    assert [o.outcome for o in promoted] == ["reversed", "opened"]
