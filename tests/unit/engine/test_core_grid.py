"""Entries through the Engine: the SPEC §4 worked example, pyramids, pyramid-specific levels,
client order ids, precision and signal rejections."""

from __future__ import annotations

import re

from engine.core import Engine
from engine.domain import OrderPurpose, OrderType, PlaceOrder, RefreshMarketRules
from engine.domain.events import MarketRulesLoaded, SignalReceived
from tests.kit.engine_builders import (
    BTC_RULES,
    D,
    Harness,
    make_config,
    make_rules,
    make_signal,
)


def _seed_at(price: str = "95992.3", **kwargs: object) -> Harness:
    harness = Harness.seed(**kwargs)  # type: ignore[arg-type]
    harness.price(price)
    return harness


def test_spec_worked_example_to_the_last_digit() -> None:
    h = _seed_at()
    outcome = h.signal()  # BTCUSDT 60 long, entry 95992.3, 0.001 contracts
    assert (outcome.outcome, outcome.group_id) == ("opened", "g1")

    # C = 0.001 × 95992.3 = 95.9923; leg 0 = 20 % → 19.19846 / 95992.3 = 0.0002 → 0.00020
    (leg0,) = h.placed("entry")
    assert (leg0.type, leg0.quantity, leg0.price) == (OrderType.MARKET, D("0.00020"), None)
    # leg 0 filled at 95992.3 → DCA legs from F = 95992.3:
    # leg 1: 95992.3 × 0.995 = 95512.3385 → 95512.33; 95.9923 × 0.3 / 95512.33 = 0.0003015 → 0.00030
    # leg 2: 95992.3 × 0.99 = 95032.377 → 95032.37; 95.9923 × 0.5 / 95032.37 = 0.000505 → 0.00050
    dca = [(c.price, c.quantity) for c in h.placed("dca")]
    assert dca == [(D("95512.33"), D("0.00030")), (D("95032.37"), D("0.00050"))]
    # TP leg 0: 95992.3 × 1.01 = 96952.223 → 96952.22 for the filled 0.00020
    assert [(c.price, c.quantity) for c in h.placed("tp")] == [(D("96952.22"), D("0.00020"))]

    h.path("95700", "95512.33", "95200", "95032.37")
    # TP leg 1: 95512.33 × 1.01 = 96467.4533 → 96467.45; leg 2: 95032.37 × 1.02 = 96933.0174
    tps = [(c.price, c.quantity) for c in h.placed("tp")]
    assert tps[1:] == [(D("96467.45"), D("0.00030")), (D("96933.01"), D("0.00050"))]
    group = h.engine.group("g1")
    assert group is not None
    # (0.0002 × 95992.30 + 0.0003 × 95512.33 + 0.0005 × 95032.37) / 0.001
    # = (19.19846 + 28.653699 + 47.516185) / 0.001 = 95368.344
    assert group.open_quantity == D("0.00100")
    assert group.average_entry == D("95368.344")
    assert group.status == "active"
    legs = group.pyramids[0].legs
    assert [leg.tp_price for leg in legs] == [D("96952.22"), D("96467.45"), D("96933.01")]


def test_client_order_ids_are_deterministic_and_exchange_safe() -> None:
    first, second = _seed_at(), _seed_at()
    for harness in (first, second):
        harness.signal(signal_id="s1")
        harness.path("95512.33", "95032.37")
    ids_first = [c.client_order_id for c in first.placed()]
    ids_second = [c.client_order_id for c in second.placed()]
    assert ids_first == ids_second
    assert ids_first[:3] == ["q-g1-p0-l0-entry-0", "q-g1-p0-l1-dca-0", "q-g1-p0-l2-dca-0"]
    for order_id in ids_first:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,36}", order_id)
    assert len(set(ids_first)) == len(ids_first)


def test_namespace_is_part_of_the_id_and_validated() -> None:
    h = Harness.seed(engine=Engine(namespace="bt7"))
    h.price("95992.3")
    h.signal()
    assert h.placed()[0].client_order_id == "bt7-g1-p0-l0-entry-0"
    try:
        Engine(namespace="bad ns!")
    except ValueError as exc:
        assert "namespace" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("invalid namespace accepted")


def test_five_pyramids_accepted_sixth_rejected() -> None:
    h = _seed_at()
    outcomes = []
    for _ in range(6):
        outcomes.append(h.signal().outcome)
        h.advance(31)  # past the duplicate window (the kit's signals differ anyway)
    assert outcomes == ["opened", "pyramid", "pyramid", "pyramid", "pyramid", "rejected"]
    assert h.outcomes[-1].reason == "max_pyramids_reached"
    group = h.engine.group("g1")
    assert group is not None and group.pyramid_count == 5
    assert "Pyramid continuation detected" in h.messages()
    assert len(h.placed("entry")) == 5
    # the pyramid took no extra pool slot
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 1


def test_each_pyramid_grid_comes_from_its_own_leg0_fill() -> None:
    h = _seed_at("95992.3")
    h.signal(signal_id="p0")
    h.price("90000")  # fills both DCA legs of pyramid 0 too (limits at 95512.33 / 95032.37)
    h.signal(signal_id="p1", entry_price="90000")
    # pyramid 1: C = 0.001 × 90000 = 90; leg 0 = 90 × 0.2 / 90000 = 0.0002 filled at 90000
    # leg 1: 90000 × 0.995 = 89550.00; 90 × 0.3 / 89550 = 0.000301507 → 0.00030
    # leg 2: 90000 × 0.99 = 89100.00; 90 × 0.5 / 89100 = 0.000505050 → 0.00050
    dca = [(c.price, c.quantity) for c in h.placed("dca") if "-p1-" in c.client_order_id]
    assert dca == [(D("89550.00"), D("0.00030")), (D("89100.00"), D("0.00050"))]
    group = h.engine.group("g1")
    assert group is not None
    assert group.pyramids[1].leg0_fill_price == D("90000")
    assert group.pyramids[0].leg0_fill_price == D("95992.3")


def test_pyramid_specific_levels_used_for_index_1() -> None:
    special = [
        {"gap_percent": "0", "weight_percent": "50", "tp_percent": "2"},
        {"gap_percent": "-2", "weight_percent": "50", "tp_percent": "3"},
    ]
    h = _seed_at(config=make_config(grid={"pyramid_specific_levels": {"1": special}}))
    h.signal(signal_id="p0")
    h.signal(signal_id="p1")
    # pyramid 1: C = 95.9923; leg 0 = 50 % → 47.99615 / 95992.3 = 0.0005 → 0.00050
    entries = h.placed("entry")
    assert entries[1].quantity == D("0.00050")
    # leg 1 at 95992.3 × 0.98 = 94072.454 → 94072.45; 47.99615 / 94072.45 = 0.000510204 → 0.00051
    dca_p1 = [(c.price, c.quantity) for c in h.placed("dca") if "-p1-" in c.client_order_id]
    assert dca_p1 == [(D("94072.45"), D("0.00051"))]
    # TP of pyramid 1's leg 0 uses tp 2 %: 95992.3 × 1.02 = 97912.146 → 97912.14
    tp_p1 = [c.price for c in h.placed("tp") if "-p1-" in c.client_order_id]
    assert tp_p1 == [D("97912.14")]
    # pyramid 0 kept the default 3-level grid
    assert len([c for c in h.placed("dca") if "-p0-" in c.client_order_id]) == 2


def test_limit_entry_rests_at_the_signal_price() -> None:
    h = _seed_at("96500", config=make_config(grid={"entry_order_type": "limit"}))
    h.signal()
    (leg0,) = h.placed("entry")
    assert (leg0.type, leg0.price, leg0.quantity) == (OrderType.LIMIT, D("95992.30"), D("0.00020"))
    group = h.engine.group("g1")
    assert group is not None and group.status == "live"
    h.price("95992.30")
    group = h.engine.group("g1")
    assert group is not None and group.status == "partially_filled"
    assert len(h.placed("dca")) == 2


def test_first_level_gap_makes_leg0_a_limit() -> None:
    levels = [
        {"gap_percent": "-1", "weight_percent": "50", "tp_percent": "1"},
        {"gap_percent": "-2", "weight_percent": "50", "tp_percent": "1"},
    ]
    h = _seed_at(config=make_config(grid={"levels": levels}))
    h.signal(order_size="0.002")
    # limit at 95992.3 × 0.99 = 95032.377 → 95032.37; C = 191.9846 × 0.5 / 95032.37 → 0.00101
    (leg0,) = h.placed("entry")
    assert (leg0.type, leg0.price, leg0.quantity) == (OrderType.LIMIT, D("95032.37"), D("0.00101"))


def test_pyramid_below_minimum_is_rejected_before_any_order() -> None:
    h = _seed_at()
    # C = 0.0002 × 95992.3 = 19.19846; leg 0 = 3.839692 notional < min notional 5
    outcome = h.signal(order_size="0.0002")
    assert (outcome.outcome, outcome.reason) == ("rejected", "below_min_notional")
    assert h.placed() == []
    # quantity below min qty: 0.00001 BTC × 20 % = 0.000002 → rounds to 0
    outcome = h.signal(order_size="0.00001")
    assert (outcome.outcome, outcome.reason) == ("rejected", "below_min_qty")


def test_unknown_symbol_rejected() -> None:
    h = _seed_at()
    outcome = h.signal(symbol="BTC1USDT")
    assert (outcome.outcome, outcome.reason) == ("rejected", "unknown_symbol")


def test_missing_precision_queues_then_retries_on_refresh() -> None:
    incomplete = make_rules("ETHUSDT", tick=None)
    h = Harness.seed(rules=(BTC_RULES, incomplete))
    h.price("3394.0", symbol="ETHUSDT")
    outcome = h.signal(symbol="ETHUSDT", entry_price="3394.0", order_size="0.03")
    assert (outcome.outcome, outcome.reason) == ("queued", "precision_missing")
    assert RefreshMarketRules("binance", "ETHUSDT") in h.commands
    errors = [e for e in h.audit if e.message.startswith("Precision metadata missing")]
    assert errors and errors[0].severity.value == "error"
    assert h.placed() == []
    h.feed(MarketRulesLoaded("binance", (BTC_RULES, make_rules("ETHUSDT")), h.now))
    assert h.outcomes[-1].outcome == "opened"
    assert h.engine.queue("maaz") == []
    # C = 0.03 × 3394.0 = 101.82; leg 0 at market = 20.364 / 3394.0 = 0.006 → 0.00600
    assert h.placed("entry")[0].quantity == D("0.00600")


def test_incomplete_metadata_uses_fallback_rules_when_not_blocking() -> None:
    config = make_config(risk={"precision": {"block_on_missing_metadata": False}})
    incomplete = make_rules("ETHUSDT", tick=None, step=None)
    h = Harness.seed(config, rules=(BTC_RULES, incomplete))
    h.price("3394.0", symbol="ETHUSDT")
    outcome = h.signal(symbol="ETHUSDT", entry_price="3394.0", order_size="0.03")
    assert outcome.outcome == "opened"
    assert "Incomplete precision metadata: fallback rules used" in h.messages()
    # fallback step 1e-6: 20.364 / 3394.0 = 0.006 exactly → 0.006000
    assert h.placed("entry")[0].quantity == D("0.006000")


def test_short_on_spot_rejected_and_allowed_on_linear() -> None:
    linear = make_rules("ETHUSDT", market_type=make_rules().market_type.__class__("linear"))
    h = Harness.seed(rules=(BTC_RULES, linear))
    h.price("95992.3")
    h.price("3394.0", symbol="ETHUSDT")
    outcome = h.signal(side="short")
    assert (outcome.outcome, outcome.reason) == ("rejected", "short_not_supported_on_spot")
    outcome = h.signal(side="short", symbol="ETHUSDT", entry_price="3394.0", order_size="0.03")
    assert outcome.outcome == "opened"
    # short leg 1 above the fill: 3394.0 × (1 + 0.5 %) = 3410.97; sells
    dca = [c for c in h.placed("dca") if c.symbol == "ETHUSDT"]
    assert dca[0].price == D("3410.97") and dca[0].side.value == "sell"


def test_duplicate_within_window_and_after() -> None:
    h = _seed_at()
    assert h.signal(fingerprint="same").outcome == "opened"
    h.advance(29)
    dup = h.signal(fingerprint="same")
    assert dup.outcome == "duplicate"
    assert "Duplicate signal rejected" in h.messages()
    h.advance(1)  # 30 s after the first: the window (30 s) is over
    assert h.signal(fingerprint="same").outcome == "pyramid"


def test_a_signal_deduplicated_by_its_sender_is_neither_checked_nor_kept() -> None:
    """The service's intake claims fingerprints in the store; the engine then keeps none,
    so its state (and the snapshot written per webhook) does not grow with every signal."""
    h = _seed_at()
    first = make_signal(at_ms=h.now, fingerprint="same", signal_id="a")
    h.feed(SignalReceived(first, h.now, deduplicated=True))
    assert h.engine.snapshot()["state"]["users"][first.user_id]["fingerprints"] == {}
    h.advance(1)
    again = make_signal(at_ms=h.now, fingerprint="same", signal_id="b")
    h.feed(SignalReceived(again, h.now, deduplicated=True))
    # not a duplicate to the engine: a second pyramid on the same group
    assert [(o.signal_id, o.outcome) for o in h.outcomes] == [("a", "opened"), ("b", "pyramid")]
    assert "Duplicate signal rejected" not in h.messages()
    # the engine's own check still works for senders that did not deduplicate
    assert h.signal(fingerprint="other").outcome == "pyramid"
    assert h.signal(fingerprint="other").outcome == "duplicate"


def test_exchange_not_configured_and_no_price() -> None:
    h = _seed_at()
    outcome = h.signal(exchange="kraken")
    assert (outcome.outcome, outcome.reason) == ("rejected", "exchange_not_configured")
    other = make_rules("SOLUSDT")
    h.feed(MarketRulesLoaded("binance", (BTC_RULES, other), h.now))
    outcome = h.signal(symbol="SOLUSDT", entry_price=None, order_size="1")
    assert (outcome.outcome, outcome.reason) == ("rejected", "no_price")


def test_leg0_rejected_by_exchange_fails_the_group_and_frees_the_slot() -> None:
    h = _seed_at()
    h.reject_next["entry"] = "exchange_auth_failed"
    first = h.signal(signal_id="a")
    assert first.outcome == "opened"
    assert h.outcomes[-1].outcome == "rejected" and h.outcomes[-1].reason == "exchange_auth_failed"
    group = h.engine.group("g1")
    assert group is not None and group.status == "failed"
    metrics = h.engine.metrics("maaz")
    assert metrics is not None and metrics.slots_used == 0
    # the account is now marked auth_failed: new entries are rejected with that reason
    outcome = h.signal(signal_id="b")
    assert (outcome.outcome, outcome.reason) == ("rejected", "exchange_auth_failed")


def test_place_order_commands_carry_the_group_and_purpose() -> None:
    h = _seed_at()
    h.signal()
    command = h.placed()[0]
    assert isinstance(command, PlaceOrder)
    assert (command.group_id, command.purpose, command.user_id) == (
        "g1",
        OrderPurpose.ENTRY,
        "maaz",
    )
    assert command.reduce_only is False
    assert all(c.reduce_only for c in h.placed("tp"))
