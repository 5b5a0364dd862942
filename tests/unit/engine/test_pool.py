"""Pool slots and the queue through the Engine (SPEC §7). The seed user has 3 slots and one
group per symbol; signals without a size use default_capital_usd (100)."""

from __future__ import annotations

from typing import Any

from engine.domain import MarketType
from engine.domain.events import (
    MarketRulesLoaded,
    QueueForceAddRequested,
    QueuePromoteRequested,
    QueueRemoveRequested,
)
from tests.kit.engine_builders import BTC_RULES, D, Harness, make_config, make_rules

PRICES = {
    "BTCUSDT": "95992.3",
    "ETHUSDT": "3394.0",
    "SOLUSDT": "125.97",
    "XRPUSDT": "1.874",
    "DOGEUSDT": "0.195",
    "ADAUSDT": "0.387",
}
RULES = (
    BTC_RULES,
    make_rules("ETHUSDT", step="0.0001", min_qty="0.0001", market_type=MarketType.LINEAR),
    make_rules("SOLUSDT", step="0.001", min_qty="0.001"),
    make_rules("XRPUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
    make_rules("DOGEUSDT", tick="0.00001", step="1", min_qty="1"),
    make_rules("ADAUSDT", tick="0.0001", step="0.1", min_qty="0.1"),
)


def _harness(**risk: Any) -> Harness:
    h = Harness.seed(make_config(risk=risk), rules=RULES)
    for symbol, price in PRICES.items():
        h.price(price, symbol=symbol)
    return h


def _signal(h: Harness, symbol: str, **kwargs: Any) -> Any:
    kwargs.setdefault("entry_price", PRICES[symbol])
    kwargs.setdefault("order_size", None)
    return h.signal(symbol=symbol, **kwargs)


def _fill_pool(h: Harness) -> None:
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        assert _signal(h, symbol).outcome == "opened"


def _group_of(h: Harness, symbol: str) -> str:
    (group,) = [g for g in h.engine.groups() if g.symbol == symbol and g.status != "closed"]
    return group.group_id


def test_pool_full_queues_with_reason() -> None:
    h = _harness()
    _fill_pool(h)
    outcome = _signal(h, "XRPUSDT")
    assert (outcome.outcome, outcome.reason, outcome.queue_id) == ("queued", "pool_full", "qe1")
    assert "Pool full, signal queued" in h.messages()
    (entry,) = h.engine.queue("maaz")
    assert (entry.symbol, entry.reason, entry.rank) == ("XRPUSDT", "pool_full", 1)


def test_replacement_keeps_queue_time_and_counts() -> None:
    h = _harness()
    _fill_pool(h)
    _signal(h, "XRPUSDT", entry_price="1.874")
    queued_at = h.now
    h.advance(60)
    outcome = _signal(h, "XRPUSDT", entry_price="1.80", order_size="60")
    assert (outcome.outcome, outcome.queue_id) == ("replaced", "qe1")
    assert "Queue entry replaced" in h.messages()
    (entry,) = h.engine.queue("maaz")
    assert entry.replacement_count == 1
    assert entry.entry_price == D("1.80") and entry.order_size == D("60")
    assert entry.queued_at_ms == queued_at
    assert entry.updated_at_ms == queued_at + 60_000


def test_exit_while_queued_removes_the_entry() -> None:
    h = _harness()
    _fill_pool(h)
    _signal(h, "XRPUSDT")
    outcome = _signal(h, "XRPUSDT", type="exit", side=None)
    assert outcome.outcome == "exit_removed_queued"
    assert "Exit for queued signal, removing from queue" in h.messages()
    assert h.engine.queue("maaz") == []


def test_opposite_side_waits_for_the_close_then_opens() -> None:
    h = _harness()
    assert _signal(h, "ETHUSDT").outcome == "opened"
    outcome = _signal(h, "ETHUSDT", side="short")
    assert (outcome.outcome, outcome.reason) == ("queued", "opposite_side_open")
    assert "Opposite side signal, queuing until closure" in h.messages()
    _signal(h, "BTCUSDT")  # a free slot does not release it
    assert len(h.engine.queue("maaz")) == 1
    _signal(h, "ETHUSDT", type="exit", side="long")
    short = [g for g in h.engine.groups() if g.symbol == "ETHUSDT" and g.side == "short"]
    assert len(short) == 1 and short[0].status != "closed"
    assert h.engine.queue("maaz") == []


def test_per_symbol_limit_then_promotion_after_close() -> None:
    h = _harness()
    _signal(h, "BTCUSDT", timeframe=60)
    outcome = _signal(h, "BTCUSDT", timeframe=15)
    assert (outcome.outcome, outcome.reason) == ("queued", "per_symbol_limit")
    _signal(h, "BTCUSDT", timeframe=60, type="exit", side=None)
    groups = [g for g in h.engine.groups() if g.symbol == "BTCUSDT"]
    assert (groups[0].timeframe, groups[0].status) == (60, "closed")
    assert groups[1].timeframe == 15 and groups[1].status != "closed"


def test_promotion_happens_in_the_same_decision_that_frees_the_slot() -> None:
    h = _harness()
    _fill_pool(h)
    queued = _signal(h, "XRPUSDT", signal_id="xrp")
    assert queued.outcome == "queued"
    _signal(h, "BTCUSDT", type="exit", side=None)
    closing = [d for d in h.decisions if any(a.message == "Position group closed" for a in d.audit)]
    assert len(closing) == 1
    promoted = [o for o in closing[0].outcomes if o.signal_id == "xrp"]
    assert [(o.outcome, o.queue_id) for o in promoted] == [("opened", "qe1")]
    assert "Queue entry promoted" in [a.message for a in closing[0].audit]
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and (metrics.slots_used, metrics.queue_length) == (3, 0)


def test_force_add_ignores_the_pool_limit() -> None:
    h = _harness()
    _fill_pool(h)
    _signal(h, "XRPUSDT")
    h.feed(QueueForceAddRequested("qe1", h.now))
    assert h.outcomes[-1].outcome == "opened"
    assert "Queue entry force-added" in h.messages()
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and (metrics.slots_used, metrics.slots_total) == (4, 3)


def test_manual_promote_needs_a_free_slot_and_remove_drops_the_entry() -> None:
    h = _harness()
    _fill_pool(h)
    _signal(h, "XRPUSDT")
    h.feed(QueuePromoteRequested("qe1", h.now))
    last = h.audit[-1]
    assert last.message == "Queue entry cannot be promoted now"
    assert last.data["reason"] == "pool_full"
    h.feed(QueueRemoveRequested("qe1", h.now))
    assert h.engine.queue("maaz") == []
    assert "Queue entry removed manually" in h.messages()
    h.feed(QueueRemoveRequested("qe404", h.now))
    error = h.audit[-1]
    assert error.severity.value == "error"
    assert (error.data["field"], error.data["reason"]) == ("queue_id", "unknown_queue_entry")


def test_pyramid_bypasses_the_pool_when_same_pair_timeframe_is_on() -> None:
    h = _harness()
    _fill_pool(h)
    outcome = _signal(h, "BTCUSDT")
    assert outcome.outcome == "pyramid"


def test_pyramid_competes_for_a_slot_when_same_pair_timeframe_is_off() -> None:
    rules = ["deepest_loss_percent", "highest_replacement", "fifo"]
    h = _harness(priority_rules=rules)
    _fill_pool(h)
    outcome = _signal(h, "BTCUSDT")
    assert (outcome.outcome, outcome.reason) == ("queued", "pool_full")
    (entry,) = h.engine.queue("maaz")
    assert entry.is_continuation
    _signal(h, "SOLUSDT", type="exit", side=None)  # a slot frees: the pyramid goes
    group = h.engine.group(_group_of(h, "BTCUSDT"))
    assert group is not None and group.pyramid_count == 2
    # with a free slot it goes straight away
    assert _signal(h, "BTCUSDT").outcome == "pyramid"


def _queue_ids(h: Harness) -> list[str]:
    return [entry.queue_id for entry in h.engine.queue("maaz")]


def test_rank_fifo_alone() -> None:
    h = _harness(priority_rules=["fifo"])
    _fill_pool(h)
    _signal(h, "XRPUSDT", entry_price="1.90")  # qe1, deeper loss
    h.advance(1)
    _signal(h, "DOGEUSDT")  # qe2
    h.advance(1)
    _signal(h, "DOGEUSDT")  # replaces qe2: more replacements, later
    assert _queue_ids(h) == ["qe1", "qe2"]
    _signal(h, "BTCUSDT", type="exit", side=None)
    assert [g.symbol for g in h.engine.groups() if g.status != "closed"][-1] == "XRPUSDT"


def test_rank_highest_replacement_alone() -> None:
    h = _harness(priority_rules=["highest_replacement"])
    _fill_pool(h)
    _signal(h, "XRPUSDT")  # qe1
    _signal(h, "DOGEUSDT")  # qe2
    _signal(h, "DOGEUSDT")  # qe2 replaced once
    assert _queue_ids(h) == ["qe2", "qe1"]
    _signal(h, "BTCUSDT", type="exit", side=None)
    assert [g.symbol for g in h.engine.groups() if g.status != "closed"][-1] == "DOGEUSDT"


def test_rank_deepest_loss_alone() -> None:
    h = _harness(priority_rules=["deepest_loss_percent"])
    _fill_pool(h)
    # DOGE first: (0.195 − 0.2) / 0.2 × 100 = −2.5 %
    _signal(h, "DOGEUSDT", entry_price="0.2")
    # XRP later: (1.874 − 1.95) / 1.95 × 100 = −3.8974... %, deeper: ranked first
    _signal(h, "XRPUSDT", entry_price="1.95")
    queue = h.engine.queue("maaz")
    assert [e.symbol for e in queue] == ["XRPUSDT", "DOGEUSDT"]
    assert queue[1].loss_percent == D("-2.5")
    _signal(h, "BTCUSDT", type="exit", side=None)
    assert [g.symbol for g in h.engine.groups() if g.status != "closed"][-1] == "XRPUSDT"


def test_rank_same_pair_timeframe_alone() -> None:
    h = _harness(priority_rules=["same_pair_timeframe"])
    _fill_pool(h)
    _signal(h, "XRPUSDT")  # qe1, a new group, first in time
    # BTC's metadata becomes incomplete: its next pyramid waits for precision (qe2)
    degraded = tuple(make_rules("BTCUSDT", tick=None) if r is BTC_RULES else r for r in RULES)
    h.feed(MarketRulesLoaded("binance", degraded, h.now))
    outcome = _signal(h, "BTCUSDT")
    assert (outcome.outcome, outcome.reason) == ("queued", "precision_missing")
    queue = h.engine.queue("maaz")
    assert [(e.queue_id, e.is_continuation) for e in queue] == [("qe2", True), ("qe1", False)]


def test_default_rule_order() -> None:
    h = _harness()
    _fill_pool(h)
    _signal(h, "XRPUSDT", entry_price="1.874")  # qe1: loss (1.874 − 1.874) / 1.874 = 0 %
    _signal(h, "DOGEUSDT", entry_price="0.2")  # qe2: loss (0.195 − 0.2) / 0.2 = −2.5 %
    _signal(h, "ADAUSDT", entry_price="0.387")  # qe3: loss 0 %
    _signal(h, "ADAUSDT", entry_price="0.387")  # qe3 replaced once
    # no continuation; deepest loss first (qe2); qe1/qe3 tie on loss → more replacements
    assert _queue_ids(h) == ["qe2", "qe3", "qe1"]
    h.price("1.5", symbol="XRPUSDT")  # (1.5 − 1.874) / 1.874 = −19.96 %: now deepest
    assert _queue_ids(h) == ["qe1", "qe2", "qe3"]
    _signal(h, "BTCUSDT", type="exit", side=None)
    assert [g.symbol for g in h.engine.groups() if g.status != "closed"][-1] == "XRPUSDT"
