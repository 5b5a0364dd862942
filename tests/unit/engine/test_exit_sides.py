"""Which queued signals an exit removes (SPEC §2, §6.5, §7) and the testing plan's Test 4.5
("Opposite side signal": the short waits while the long is open; after the long closes, the
short executes).

BTCUSDT is a linear market here (shorts allowed), with the spot test filters (tick 0.01,
step 0.00001). Prices follow the seed grid: leg 0 fills at 95992.3, the DCA legs at 95512.33
(0.00030) and 95032.37 (0.00050); 0.00100 in all (see test_core_grid for the arithmetic).
"""

from __future__ import annotations

from typing import Any

from engine.domain import MarketType, OrderSide, OrderType
from tests.kit.engine_builders import D, Harness, make_config, make_rules

BTC_LINEAR = make_rules("BTCUSDT", market_type=MarketType.LINEAR)
ETH_LINEAR = make_rules("ETHUSDT", step="0.0001", min_qty="0.0001", market_type=MarketType.LINEAR)
SOL = make_rules("SOLUSDT", step="0.001", min_qty="0.001")


def _active_long(config: Any = None) -> Harness:
    h = Harness.seed(config or make_config(), rules=(BTC_LINEAR, ETH_LINEAR, SOL))
    h.price("95992.3")
    assert h.signal(signal_id="long").outcome == "opened"
    h.path("95512.33", "95032.37")  # both DCA legs fill: every leg filled
    group = h.engine.group("g1")
    assert group is not None and group.status == "active" and group.open_quantity == D("0.001")
    return h


def _queue_short(h: Harness) -> None:
    outcome = h.signal(signal_id="short", side="short")
    assert (outcome.outcome, outcome.reason, outcome.queue_id) == (
        "queued",
        "opposite_side_open",
        "qe1",
    )


def _short_opened_from_queue(h: Harness) -> None:
    promoted = [o for o in h.outcomes if o.signal_id == "short"]
    assert [(o.outcome, o.queue_id, o.group_id) for o in promoted] == [
        ("queued", "qe1", None),
        ("opened", "qe1", "g2"),
    ]
    short = h.engine.group("g2")
    assert short is not None and short.side == "short" and short.status != "closed"
    assert h.engine.queue("maaz") == []
    (entry,) = h.placed("entry", group_id="g2")
    # promoted at market from the mark 95032.37, capital from its own size and price:
    # C = 0.001 × 95992.3 = 95.9923; leg 0 = 95.9923 × 20 % / 95032.37 = 19.19846 / 95032.37
    # = 0.000202... → 0.00020 (step)
    assert (entry.side, entry.type, entry.quantity) == (
        OrderSide.SELL,
        OrderType.MARKET,
        D("0.0002"),
    )


def test_plan_4_5_short_waits_then_executes_after_a_sideless_exit() -> None:
    h = _active_long()
    _queue_short(h)
    assert "Opposite side signal, queuing until closure" in h.messages()
    long = h.engine.group("g1")
    assert long is not None and long.status == "active"  # the long remains active
    assert h.placed(group_id="g2") == []  # nothing of the short was sent
    (entry,) = h.engine.queue("maaz")
    assert (entry.side, entry.reason) == ("short", "opposite_side_open")
    # the strategy closes the long with an exit that names no side
    outcome = h.signal(signal_id="exit", type="exit", side=None)
    assert (outcome.outcome, outcome.group_id) == ("exited", "g1")
    (close,) = h.placed("exit")
    assert (close.side, close.quantity) == (OrderSide.SELL, D("0.00100"))
    long = h.engine.group("g1")
    assert long is not None and long.status == "closed" and long.close_reason == "exit_signal"
    assert "Exit for queued signal, removing from queue" not in h.messages()
    _short_opened_from_queue(h)


def test_plan_4_5_short_executes_after_the_long_closes_by_take_profit() -> None:
    h = _active_long()
    _queue_short(h)
    # every per-leg TP fills (96952.22, 96467.45, 96933.01): the long closes by itself
    h.price("96952.22")
    long = h.engine.group("g1")
    assert long is not None and long.status == "closed" and long.close_reason == "take_profit"
    promoted = [o for o in h.outcomes if o.signal_id == "short"]
    assert [(o.outcome, o.group_id) for o in promoted] == [("queued", None), ("opened", "g2")]


def test_exit_naming_the_side_keeps_the_opposite_queued_signal() -> None:
    h = _active_long()
    _queue_short(h)
    outcome = h.signal(signal_id="exit", type="exit", side="long")
    assert (outcome.outcome, outcome.group_id) == ("exited", "g1")
    _short_opened_from_queue(h)


def test_sideless_exit_removes_the_same_side_queued_signal_only() -> None:
    """Pyramids compete for slots (``same_pair_timeframe`` off) and the pool has one slot:
    a second long waits as ``pool_full`` and the short as ``opposite_side_open``. The exit
    closes the long and removes the queued long (same side, SPEC §6.5); the short stays and
    takes the freed slot."""
    config = make_config(
        risk={
            "max_open_positions_global": 1,
            "priority_rules": ["deepest_loss_percent", "highest_replacement", "fifo"],
        }
    )
    h = _active_long(config)
    more = h.signal(signal_id="more", entry_price="95032.37")
    assert (more.outcome, more.reason, more.queue_id) == ("queued", "pool_full", "qe1")
    short = h.signal(signal_id="short", side="short")
    assert (short.outcome, short.reason, short.queue_id) == ("queued", "opposite_side_open", "qe2")
    outcome = h.signal(signal_id="exit", type="exit", side=None)
    assert (outcome.outcome, outcome.group_id) == ("exited", "g1")
    removed = [a for a in h.audit if a.message == "Exit for queued signal, removing from queue"]
    assert [a.data["queue_id"] for a in removed] == ["qe1"]
    assert [o.outcome for o in h.outcomes if o.signal_id == "more"] == ["queued"]
    assert [(o.outcome, o.group_id) for o in h.outcomes if o.signal_id == "short"] == [
        ("queued", None),
        ("opened", "g2"),
    ]


def test_sideless_exit_with_nothing_open_removes_both_sides_queued() -> None:
    """Nothing open on the key: the strategy is flat there, so the queued long and short of
    that key both go (decision recorded in docs/decisions.md)."""
    config = make_config(risk={"max_open_positions_global": 1})
    h = Harness.seed(config, rules=(BTC_LINEAR, ETH_LINEAR, SOL))
    h.price("95992.3")
    h.price("3394.0", symbol="ETHUSDT")
    h.price("125.97", symbol="SOLUSDT")
    assert h.signal(symbol="SOLUSDT", entry_price="125.97", order_size=None).outcome == "opened"
    eth: dict[str, Any] = {"symbol": "ETHUSDT", "entry_price": "3394.0", "order_size": None}
    long = h.signal(signal_id="eth-long", **eth)
    short = h.signal(signal_id="eth-short", side="short", **eth)
    assert [(long.outcome, long.reason), (short.outcome, short.reason)] == [
        ("queued", "pool_full"),
        ("queued", "pool_full"),
    ]
    outcome = h.signal(type="exit", side=None, symbol="ETHUSDT")
    assert (outcome.outcome, outcome.group_id) == ("exit_removed_queued", None)
    assert h.engine.queue("maaz") == []
    sol = h.engine.groups()[0]
    assert sol.symbol == "SOLUSDT" and sol.status != "closed"  # other keys untouched
