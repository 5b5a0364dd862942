"""The signal's take-profit price (``risk.take_profit``, SPEC §2) is an aggregate TP of the
group (SPEC §6.3): when the mark crosses it, every open order of the group is cancelled and
the group is market-closed, "whether or not legs are still resting". That holds too when
per-leg TPs have already sold everything the group could sell while its DCA legs still rest
(reported by helper L): the resting DCA orders are cancelled and the group closes, releasing
its pool slot.

Seed grid (0 / -0.5 / -1 %, weights 20 / 30 / 50 %, TP 1 / 1 / 2 %, per_leg) on SOLUSDT
(tick 0.01, step 0.001), 100 USDT quote-sized at 125.97:
leg 0: 100 × 0.20 / 125.97 = 0.15877 -> 0.158 at market 125.97; TP 125.97 × 1.01 = 127.2297
       -> 127.22
leg 1: 125.97 × 0.995 = 125.34015 -> 125.34; 100 × 0.30 / 125.34 = 0.23935 -> 0.239
leg 2: 125.97 × 0.99 = 124.7103 -> 124.71; 100 × 0.50 / 124.71 = 0.40093 -> 0.400
"""

from __future__ import annotations

from engine.config import UserConfig
from engine.domain import OrderType
from tests.kit.engine_builders import BTC_RULES, D, Harness, make_config, make_rules

SOL_RULES = make_rules("SOLUSDT", step="0.001", min_qty="0.001")
SIGNAL_TP = "127.61"


def _opened(
    config: UserConfig | None = None, *, fee_rate: str = "0", base_fees: bool = False
) -> Harness:
    h = Harness.seed(
        config,
        rules=(SOL_RULES, BTC_RULES),
        fee_rate=D(fee_rate),
        base_fee_symbols=("SOLUSDT",) if base_fees else (),
    )
    h.price("125.97", symbol="SOLUSDT")
    outcome = h.signal(
        symbol="SOLUSDT",
        entry_price="125.97",
        order_size="100",
        size_type="quote",
        take_profit=SIGNAL_TP,
    )
    assert outcome.outcome == "opened"
    dca = sorted((c.price, c.quantity) for c in h.placed("dca"))
    assert dca == [(D("124.71"), D("0.400")), (D("125.34"), D("0.239"))]
    # leg 0's TP sells what it holds in whole steps: 0.158, or with the SOL fee 0.158 −
    # 0.158 × 0.001 = 0.157842 -> 0.157
    (tp,) = h.placed("tp")
    tp_quantity = D("0.157") if base_fees else D("0.158")
    assert (tp.type, tp.price, tp.quantity) == (OrderType.LIMIT, D("127.22"), tp_quantity)
    return h


def _dca_statuses(h: Harness) -> list[str]:
    return [h.book[c.client_order_id].status for c in h.placed("dca")]


def test_signal_tp_closes_a_group_whose_leg_tps_sold_everything_while_dca_legs_rest() -> None:
    h = _opened()
    h.price("127.5", symbol="SOLUSDT")  # leg 0's TP (127.22) fills; 127.5 < 127.61
    group = h.engine.group("g1")
    assert group is not None
    # per_leg: nothing held, but the DCA legs rest, so the group stays open (SPEC §6.3)
    assert (group.status, group.open_quantity) == ("partially_filled", 0)
    assert _dca_statuses(h) == ["open", "open"]

    h.price(SIGNAL_TP, symbol="SOLUSDT")
    group = h.engine.group("g1")
    assert group is not None
    assert (group.status, group.close_reason) == ("closed", "aggregate_take_profit")
    assert _dca_statuses(h) == ["cancelled", "cancelled"]
    # nothing was left to sell: no close order went out
    assert h.placed("atp") == [] and h.placed("exit") == []
    # leg 0 only: 0.158 × (127.22 − 125.97) = 0.158 × 1.25 = 0.1975 (fees 0)
    assert group.realised_usd == D("0.1975")
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and (metrics.slots_used, metrics.open_groups) == (0, 0)
    assert h.rejected() == []


def test_the_repro_binance_fees_price_straight_to_128() -> None:
    h = _opened(fee_rate="0.001", base_fees=True)
    # leg 0 holds 0.158 − 0.158 × 0.001 = 0.158 − 0.000158 = 0.157842 SOL; its TP sells the
    # whole steps: 0.157 (checked in _opened)
    h.price("128", symbol="SOLUSDT")  # the TP fills at 127.22, then the mark 128 >= 127.61
    group = h.engine.group("g1")
    assert group is not None
    assert (group.status, group.close_reason) == ("closed", "aggregate_take_profit")
    assert _dca_statuses(h) == ["cancelled", "cancelled"]
    assert h.placed("atp") == [] and h.rejected() == []
    # 0.157842 − 0.157 = 0.000842 SOL is below one step: the closed group's dust
    assert (group.dust_quantity, group.open_quantity) == (D("0.000842"), D("0.000842"))
    assert h.base_held[("binance", "SOLUSDT")] == D("0.000842")
    # realised = 0.157 × 127.22 − 0.157 × 125.97 − 0.000158 SOL × 125.97 − TP fee
    # = 19.97354 − 19.77729 − 0.01990326 − 19.97354 × 0.001
    # = 19.97354 − 19.77729 − 0.01990326 − 0.01997354 = 0.1563732
    assert group.realised_usd == D("0.1563732")


def test_the_freed_slot_promotes_the_queue_at_once() -> None:
    h = _opened(make_config(risk={"max_open_positions_global": 1}))
    h.price("95992.3")
    queued = h.signal()  # BTCUSDT: the only slot is held by the SOL group
    assert (queued.outcome, queued.reason) == ("queued", "pool_full")
    h.price("127.5", symbol="SOLUSDT")
    assert h.engine.queue("maaz") != []
    h.price("127.61", symbol="SOLUSDT")
    assert h.engine.queue("maaz") == []
    btc = h.engine.group("g2")
    assert btc is not None and btc.symbol == "BTCUSDT" and btc.status != "closed"


def test_below_the_signal_tp_or_without_one_the_per_leg_group_waits() -> None:
    h = _opened()
    h.price("127.60", symbol="SOLUSDT")  # leg 0's TP fills; 127.60 < 127.61
    group = h.engine.group("g1")
    assert group is not None and group.status == "partially_filled"
    assert _dca_statuses(h) == ["open", "open"]

    plain = Harness.seed(rules=(SOL_RULES,))
    plain.price("125.97", symbol="SOLUSDT")
    plain.signal(symbol="SOLUSDT", entry_price="125.97", order_size="100", size_type="quote")
    plain.price("140", symbol="SOLUSDT")
    group = plain.engine.group("g1")
    assert group is not None and group.status == "partially_filled"
    assert _dca_statuses(plain) == ["open", "open"]


def test_a_signal_tp_crossed_before_anything_filled_does_nothing() -> None:
    h = Harness.seed(rules=(SOL_RULES,), auto_fill=False)
    h.price("125.97", symbol="SOLUSDT")
    h.signal(
        symbol="SOLUSDT",
        entry_price="125.97",
        order_size="100",
        size_type="quote",
        take_profit=SIGNAL_TP,
    )
    h.price("128", symbol="SOLUSDT")
    group = h.engine.group("g1")
    assert group is not None and group.status == "live"
    assert h.cancels() == []
